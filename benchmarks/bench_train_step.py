"""Train steps per second through ``fit``: default vs XLA vs mixed precision, same run.

    python benchmarks/bench_train_step.py [--model=resnet] [--steps=20] [--batch_size=64]
        [--dim=32] [--n_critic=1] [--variants=default,xla,mixed_bfloat16]

Builds the networks through ``ttur_tf.training.build_gan`` once per variant (``default``;
``xla``: ``jit_compile=True``; ``mixed_bfloat16`` / ``mixed_float16``: ``mixed_precision``),
trains each on the same in-memory random batches with ``fit`` (as a run does), discards the
warm-up steps (tracing, XLA compilation) and prints each speed and its ratio to the default.
"""

import time

import numpy as np
import tensorflow as tf
from absl import app, flags

from ttur_tf.gan import stack_critic_batches
from ttur_tf.training import TrainConfig, build_gan

flags.DEFINE_enum("model", "resnet", ["resnet", "dcgan", "language"], "The networks "
                  "(resnet: the 32×32 CIFAR-10 WGAN-GP ResNet).")
flags.DEFINE_integer("steps", 20, "Timed train steps per variant.")
flags.DEFINE_integer("warmup", 3, "Untimed steps first (tracing and compilation).")
flags.DEFINE_integer("batch_size", 64, "Rows per batch.")
flags.DEFINE_integer("dim", 32, "Network width (32 for CIFAR-10 in the paper).")
flags.DEFINE_integer("n_critic", 1, "Critic updates per step (TTUR: 1).")
flags.DEFINE_list("variants", ["default", "xla", "mixed_bfloat16"],
                  "What to compare: default, xla, mixed_bfloat16, mixed_float16.")
FLAGS = flags.FLAGS

_SEQ_LEN, _VOCAB = 32, 64


def steps_per_second(variant: str, batches: tf.data.Dataset) -> float:
    config = TrainConfig(
        logdir="unused", dataset="unused", model=FLAGS.model, dim=FLAGS.dim,
        n_critic=FLAGS.n_critic, batch_size=FLAGS.batch_size, seq_len=_SEQ_LEN,
        jit_compile=variant == "xla",
        mixed_precision=variant if variant.startswith("mixed_") else "off")
    if FLAGS.model == "language":
        gan = build_gan(config, vocab_size=_VOCAB)
    else:
        gan = build_gan(config, image_size=32)
    data = stack_critic_batches(batches, FLAGS.n_critic)
    gan.fit(data, epochs=1, steps_per_epoch=FLAGS.warmup, verbose=0, shuffle=False)
    start = time.perf_counter()
    gan.fit(data, epochs=1, steps_per_epoch=FLAGS.steps, verbose=0, shuffle=False)
    return FLAGS.steps / (time.perf_counter() - start)


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    if FLAGS.model == "language":
        rows = tf.one_hot(rng.integers(0, _VOCAB, (8 * FLAGS.batch_size, _SEQ_LEN)), _VOCAB)
    else:
        rows = rng.uniform(-1, 1, (8 * FLAGS.batch_size, 32, 32, 3)).astype(np.float32)
    batches = tf.data.Dataset.from_tensor_slices(rows).batch(
        FLAGS.batch_size, drop_remainder=True).repeat().prefetch(2)
    speeds = {variant: steps_per_second(variant, batches) for variant in FLAGS.variants}
    print(f"{FLAGS.model} dim {FLAGS.dim}, batch {FLAGS.batch_size}, n_critic {FLAGS.n_critic}, "
          f"{FLAGS.steps} timed steps through fit")
    reference = speeds.get("default")
    for variant, speed in speeds.items():
        ratio = f"  ({speed / reference:.2f}x default)" if reference else ""
        print(f"{variant:>15}: {speed:.3f} steps/s{ratio}")


if __name__ == "__main__":
    app.run(main)
