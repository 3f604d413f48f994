"""The generator's exponential moving average: its arithmetic, sampling from it, a run with it."""

import glob
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from conftest import mean_color_features, random_images
from ttur_tf.generator_average import GeneratorAverage
from ttur_tf.training import TrainConfig, build_gan, train


def _generator():
    noise = keras.Input((3,))
    return keras.Model(noise, keras.layers.Dense(2)(noise))


def test_the_average_copies_before_its_start_then_moves_by_one_minus_decay():
    generator = _generator()
    average = GeneratorAverage(generator, decay=0.9, start_step=2)
    first = [variable.numpy() for variable in generator.variables]
    generator.set_weights([value + 1.0 for value in first])
    average.update(tf.constant(1, tf.int64))  # before the start: a copy
    for kept, variable in zip(average.averages, generator.variables):
        np.testing.assert_array_equal(kept.numpy(), variable.numpy())
    copied = [kept.numpy() for kept in average.averages]
    generator.set_weights([value + 3.0 for value in first])
    average.update(tf.constant(2, tf.int64))
    for kept, old, variable in zip(average.averages, copied, generator.variables):
        np.testing.assert_allclose(kept.numpy(), 0.9 * old + 0.1 * variable.numpy(), rtol=1e-6)


def test_in_place_computes_with_the_averages_and_assigns_nothing():
    generator = _generator()
    average = GeneratorAverage(generator, decay=0.5)
    trained = [value * 2 + 1 for value in generator.get_weights()]
    generator.set_weights(trained)
    noise = np.ones((4, 3), np.float32)
    with average.in_place():
        from_average = generator(noise)
    kernel, bias = (kept.numpy() for kept in average.averages)
    np.testing.assert_allclose(from_average, noise @ kernel + bias, rtol=1e-6)
    for value, expected in zip(generator.get_weights(), trained):
        np.testing.assert_array_equal(value, expected)


def test_a_run_samples_from_the_average_checkpoints_it_and_compares_once(tmp_path):
    dataset = tmp_path / "images.npz"
    np.savez(dataset, images=random_images(40, 16, 16, seed=3))
    config = TrainConfig(logdir=str(tmp_path / "run"), dataset=str(dataset), model="dcgan",
                         image_size=16, dim=4, batch_size=4, steps=4, log_every=1,
                         sample_every=2, checkpoint_every=2, fid_every=2, fid_num_samples=8,
                         fid_sample_batch_size=8, ema_decay=0.5, ema_start_step=1)
    train(config, features=mean_color_features)
    reader = tf.train.load_checkpoint(str(tmp_path / "run" / "checkpoints"))
    averages = [name for name in reader.get_variable_to_shape_map()
                if name.startswith("generator_average/")]
    gan = build_gan(config, image_size=16)
    assert len(averages) == len(gan.generator_average.averages)
    steps_of = {}
    for path in glob.glob(str(Path(config.logdir) / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                steps_of.setdefault(value.tag, []).append(event.step)
    assert sorted(steps_of["fid"]) == [2, 4]
    assert steps_of["fid_no_average"] == [2]  # the first evaluation only
    # The restored average is what samples come from; the trained generator differs from it.
    tf.train.Checkpoint(**gan.training_state).restore(
        tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints"))).expect_partial()
    noise = gan.numpy_noise(np.random.default_rng(0), 4)
    with gan.generator_average.in_place():
        expected = gan.generator(noise, training=False).numpy()
    np.testing.assert_allclose(gan.generate(noise), expected, rtol=1e-6)
    assert not np.allclose(gan.generate(noise, average=False), expected)
