"""Trains a DCGAN with TTUR (or the original single time-scale setting).

    python scripts/train_dcgan.py --flagfile=configs/dcgan_celeba_ttur.flags

Defaults are bioinf-jku/TTUR DCGAN_FID_batched (carpedm20's DCGAN): non-saturating loss, Adam
with beta1 0.5 (beta2 0.999), learning rates 2e-4, one discriminator update per generator update,
uniform noise of length 100, batch 64, FID every 5000 steps. The paper's learning rates per data
set come from the flagfile of each experiment. Rerunning the same command resumes from the latest
checkpoint in --logdir.
"""

import functools

from ttur_tf.cli import run_script
from ttur_tf.training_flags import define_training_flags, run_from_flags

define_flags = functools.partial(define_training_flags, model="dcgan")
main = run_from_flags

if __name__ == "__main__":
    run_script(define_flags, main)
