"""Train steps per second of the 32×32 WGAN-GP ResNet on this machine, default vs XLA, same run.

    python benchmarks/bench_train_step.py [--steps=20] [--batch_size=64] [--dim=32] [--n_critic=1]

Builds the CIFAR-10 networks of the paper (ResNet, dim 32, wgan-gp, TTUR Adam settings) through
``ttur_tf.training.build_gan`` once with ``jit_compile=False`` and once with ``True``, trains each on
the same in-memory random batches, discards the warm-up steps (tracing, XLA compilation) and prints
both speeds and their ratio.
"""

import time

import numpy as np
import tensorflow as tf
from absl import app, flags

from ttur_tf.gan import stack_critic_batches
from ttur_tf.training import TrainConfig, build_gan

flags.DEFINE_integer("steps", 20, "Timed train steps per setting.")
flags.DEFINE_integer("warmup", 3, "Untimed steps first (tracing and compilation).")
flags.DEFINE_integer("batch_size", 64, "Images per batch.")
flags.DEFINE_integer("dim", 32, "ResNet width (32 for CIFAR-10 in the paper).")
flags.DEFINE_integer("n_critic", 1, "Critic updates per step (TTUR: 1).")
FLAGS = flags.FLAGS


def steps_per_second(jit_compile: bool, batches: tf.data.Dataset) -> float:
    config = TrainConfig(logdir="unused", dataset="unused", dim=FLAGS.dim, n_critic=FLAGS.n_critic,
                         batch_size=FLAGS.batch_size, jit_compile=jit_compile)
    gan = build_gan(config, image_size=32)
    data = stack_critic_batches(batches, FLAGS.n_critic)
    gan.fit(data, epochs=1, steps_per_epoch=FLAGS.warmup, verbose=0, shuffle=False)
    start = time.perf_counter()
    gan.fit(data, epochs=1, steps_per_epoch=FLAGS.steps, verbose=0, shuffle=False)
    return FLAGS.steps / (time.perf_counter() - start)


def main(argv):
    del argv
    images = np.random.default_rng(0).uniform(-1, 1, (8 * FLAGS.batch_size, 32, 32, 3))
    batches = tf.data.Dataset.from_tensor_slices(images.astype(np.float32)).batch(
        FLAGS.batch_size, drop_remainder=True).repeat().prefetch(2)
    default = steps_per_second(False, batches)
    xla = steps_per_second(True, batches)
    print(f"32x32 WGAN-GP ResNet dim {FLAGS.dim}, batch {FLAGS.batch_size}, n_critic "
          f"{FLAGS.n_critic}, {FLAGS.steps} timed steps")
    print(f"default:            {default:.3f} steps/s")
    print(f"XLA (jit_compile):  {xla:.3f} steps/s")
    print(f"XLA / default:      {xla / default:.2f}x")


if __name__ == "__main__":
    app.run(main)
