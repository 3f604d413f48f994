"""Trains a DCGAN with TTUR (or the original single time-scale setting).

    python scripts/train_dcgan.py --flagfile=configs/dcgan_celeba_ttur.flags

Defaults are bioinf-jku/TTUR DCGAN_FID_batched (carpedm20's DCGAN): non-saturating loss, Adam
with beta1 0.5 (beta2 0.999), one discriminator update per generator update, uniform noise of
length 100, batch 64. The learning rates come from the flagfile of each experiment. Rerunning the
same command resumes from the latest checkpoint in --logdir.
"""

from absl import app, flags

from ttur_tf.training_flags import define_training_flags, run_from_flags

define_training_flags(
    flags.FLAGS, model="dcgan", loss="dcgan", d_lr=2e-4, g_lr=2e-4, d_beta1=0.5, d_beta2=0.999,
    g_beta1=0.5, g_beta2=0.999, n_critic=1, fid_every=5000, checkpoint_every=2000,
)


def main(argv):
    run_from_flags(argv, flags.FLAGS)


if __name__ == "__main__":
    app.run(main)
