"""Trains a WGAN-GP image or language GAN with TTUR (or the original single time-scale setting).

    python scripts/train_wgan_gp.py --flagfile=configs/wgan_gp_cifar10_ttur.flags
    python scripts/train_wgan_gp.py --flagfile=configs/lang_1b_ttur.flags
    python scripts/train_wgan_gp.py --flagfile=configs/quickstart.flags   # no download, ~3.5 min

Defaults are the TTUR setting of bioinf-jku/TTUR WGAN_GP/gan_64x64_FID.py (ResNet, wgan-gp,
D lr 3e-4, G lr 1e-4, Adam betas (0, 0.9), n_critic 1, batch 64, FID every 1000 steps on 50,000
samples); --model=language trains the character-level GAN of gan_language_JSD.py on a text
--dataset, with js1…js6 every --jsd_every steps and that script's defaults (dim 512, Adam betas
(0.5, 0.9)). Rerunning the same command resumes from the latest checkpoint in --logdir.
"""

from ttur_tf.cli import run_script
from ttur_tf.training_flags import define_training_flags, run_from_flags

define_flags = define_training_flags
main = run_from_flags

if __name__ == "__main__":
    run_script(define_flags, main)
