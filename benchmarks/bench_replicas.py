"""One device vs MirroredStrategy over 2 logical CPU devices: train steps/s and FID samples/s.

    python benchmarks/bench_replicas.py [--model=language] [--steps=20] [--fid_samples=2000]

Same global batch, same networks, both measured in this run. On a CPU the two logical devices
share the same cores, so this measures what the distribution costs (splitting, the all-reduce of
gradients, per-replica dispatch), not a speed-up: on R GPUs the compute is divided by R and the
ratio printed here is the overhead left on top.
"""

import time

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags

flags.DEFINE_enum("model", "language", ["language", "resnet", "dcgan"], "The networks.")
flags.DEFINE_integer("dim", 64, "Network width.")
flags.DEFINE_integer("batch_size", 64, "The global batch.")
flags.DEFINE_integer("n_critic", 1, "Critic updates per step.")
flags.DEFINE_integer("steps", 20, "Timed train steps per setting.")
flags.DEFINE_integer("warmup", 3, "Untimed steps first (tracing).")
flags.DEFINE_integer("fid_samples", 2000, "Generated samples per FID measurement (0: skip).")
FLAGS = flags.FLAGS

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)


def build(strategy):
    from ttur_tf.training import TrainConfig, build_gan

    config = TrainConfig("unused", "unused", model=FLAGS.model, dim=FLAGS.dim,
                         batch_size=FLAGS.batch_size, n_critic=FLAGS.n_critic, seq_len=32)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        if FLAGS.model == "language":
            return build_gan(config, vocab_size=64)
        return build_gan(config, image_size=32)


def global_batches():
    from ttur_tf.gan import stack_critic_batches

    rng = np.random.default_rng(0)
    if FLAGS.model == "language":
        rows = tf.one_hot(rng.integers(0, 64, (8 * FLAGS.batch_size, 32)), 64)
    else:
        rows = rng.uniform(-1, 1, (8 * FLAGS.batch_size, 32, 32, 3)).astype(np.float32)
    batches = tf.data.Dataset.from_tensor_slices(rows).batch(FLAGS.batch_size, drop_remainder=True)
    return stack_critic_batches(batches.repeat(), FLAGS.n_critic).prefetch(2)


def steps_per_second(strategy) -> float:
    from ttur_tf.distribute import replica_batches, rows_of

    gan = build(strategy)
    data = replica_batches(strategy, rows_of(global_batches), FLAGS.batch_size)
    gan.fit(data, epochs=1, steps_per_epoch=FLAGS.warmup, verbose=0)
    start = time.perf_counter()
    gan.fit(data, epochs=1, steps_per_epoch=FLAGS.steps, verbose=0)
    return FLAGS.steps / (time.perf_counter() - start)


def fid_samples_per_second(strategy, features) -> float:
    from ttur_tf.sample_statistics import generated_moments

    gan = build(strategy)
    generated_moments(gan, features, 200, 200, 100, np.random.default_rng(0), strategy)  # trace
    start = time.perf_counter()
    generated_moments(gan, features, FLAGS.fid_samples, 1000, 200, np.random.default_rng(1), strategy)
    return FLAGS.fid_samples / (time.perf_counter() - start)


def main(argv):
    del argv
    from ttur_tf.distribute import make_strategy

    one = tf.distribute.get_strategy()
    two = make_strategy("mirrored", ("/cpu:0", "/cpu:1"))
    print(f"{FLAGS.model} dim {FLAGS.dim}, global batch {FLAGS.batch_size}, n_critic "
          f"{FLAGS.n_critic}, {FLAGS.steps} timed steps")
    single, mirrored = steps_per_second(one), steps_per_second(two)
    print(f"train, one device:           {single:.3f} steps/s")
    print(f"train, mirrored 2 replicas:  {mirrored:.3f} steps/s")
    print(f"mirrored / one device:       {mirrored / single:.2f}x")
    if FLAGS.fid_samples and FLAGS.model != "language":
        import tempfile

        from ttur_tf.fid import InceptionFeatures
        from ttur_tf.fid.standin import write_standin_graph

        features = InceptionFeatures(write_standin_graph(tempfile.mkdtemp()), download=False)
        single = fid_samples_per_second(one, features)
        mirrored = fid_samples_per_second(two, features)
        print(f"FID samples, one device (stand-in graph):  {single:.1f} samples/s")
        print(f"FID samples, mirrored 2 replicas:          {mirrored:.1f} samples/s")
        print(f"mirrored / one device:                     {mirrored / single:.2f}x")


if __name__ == "__main__":
    app.run(main)
