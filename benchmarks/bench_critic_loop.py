"""Start-up, speed and memory of the n_critic critic updates: traced once in a loop vs unrolled.

    python benchmarks/bench_critic_loop.py [--n_critic=10] [--language_steps=30] [--image_steps=8]

``GAN.train_step`` runs its ``n_critic`` critic updates in a ``tf.while_loop``, so the update is
traced once. The reference, measured in the same run, is the same model with the updates unrolled
in Python (``n_critic`` copies in the graph, as before). Each variant runs in its own process (so
its peak RSS is its own) on the paper's language networks (dim 64 here, the quickstart's width)
and the 32×32 image ResNet (dim 32, CIFAR-10's): the time to the first finished step (tracing and
graph building), steps per second after two more warm-up steps, and peak memory.
"""

import json
import time

import numpy as np
import tensorflow as tf
from absl import app, flags
from fresh_process import measure_in_fresh_process, report

flags.DEFINE_integer("n_critic", 10, "Critic updates per step (the original language script: 10).")
flags.DEFINE_integer("language_steps", 30, "Timed steps of the language model.", lower_bound=1)
flags.DEFINE_integer("image_steps", 8, "Timed steps of the image ResNet.", lower_bound=1)
flags.DEFINE_integer("warmup", 2, "Untimed steps between the first and the timed ones.",
                     lower_bound=0)
flags.DEFINE_string("worker", None, "Internal: JSON job for a measuring subprocess.")
FLAGS = flags.FLAGS


def _unrolled(gan_class):
    class Unrolled(gan_class):
        def _discriminator_updates(self, real_batches):
            values = {}
            for index in range(self.n_critic):
                values.update(self._discriminator_update(real_batches[index]))
            return values

    return Unrolled


def measure(job):
    from ttur_tf import training
    from ttur_tf.gan import stack_critic_batches
    from ttur_tf.training import TrainConfig, build_gan

    if job["variant"] == "unrolled":
        training.GAN = _unrolled(training.GAN)  # what build_gan instantiates
    rng = np.random.default_rng(0)
    if job["model"] == "language":
        config = TrainConfig("unused", "unused", model="language", dim=64, n_critic=job["n_critic"])
        gan = build_gan(config, vocab_size=100)
        real = tf.one_hot(rng.integers(0, 100, (8 * 64, 32)), 100)
    else:
        config = TrainConfig("unused", "unused", dim=32, n_critic=job["n_critic"])
        gan = build_gan(config, image_size=32)
        real = rng.uniform(-1, 1, (8 * 64, 32, 32, 3)).astype(np.float32)
    data = stack_critic_batches(
        tf.data.Dataset.from_tensor_slices(real).batch(64, drop_remainder=True).repeat(),
        job["n_critic"])
    start = time.perf_counter()
    gan.fit(data, epochs=1, steps_per_epoch=1, verbose=0)
    first = time.perf_counter() - start
    if job["warmup"]:  # (steps_per_epoch=0 would run the endless dataset forever)
        gan.fit(data, epochs=1, steps_per_epoch=job["warmup"], verbose=0)
    start = time.perf_counter()
    gan.fit(data, epochs=1, steps_per_epoch=job["steps"], verbose=0)
    report(first_step_s=first, steps_per_s=job["steps"] / (time.perf_counter() - start))


def main(argv):
    del argv
    if FLAGS.worker:
        measure(json.loads(FLAGS.worker))
        return
    for model, n_critic, steps in (("language", FLAGS.n_critic, FLAGS.language_steps),
                                   ("resnet", 5, FLAGS.image_steps)):
        job = dict(model=model, n_critic=n_critic, steps=steps, warmup=FLAGS.warmup)
        results = {variant: measure_in_fresh_process(__file__, variant=variant, **job)
                   for variant in ("unrolled", "loop")}
        loop, unrolled = results["loop"], results["unrolled"]
        print(f"{model}, n_critic {n_critic}, batch 64, {steps} timed steps:")
        for name, result in results.items():
            print(f"  {name:9s} first step {result['first_step_s']:6.1f} s, "
                  f"{result['steps_per_s']:6.2f} steps/s, peak {result['peak_mib']:6.0f} MiB")
        print(f"  loop / unrolled: first step {loop['first_step_s'] / unrolled['first_step_s']:.2f}x, "
              f"speed {loop['steps_per_s'] / unrolled['steps_per_s']:.2f}x, "
              f"peak memory {loop['peak_mib'] / unrolled['peak_mib']:.2f}x")


if __name__ == "__main__":
    app.run(main)
