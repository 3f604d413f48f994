"""Every training and evaluation input pipeline is tf.data ops from file to batch: no Python
callback (``from_generator``, ``py_function``, ``numpy_function``) anywhere in its graph."""

import dataclasses

import numpy as np
import tensorflow as tf

from conftest import TWO_DEVICES, python_ops_in, random_images, write_png_folder
from ttur_tf.data import images as image_data
from ttur_tf.data import text as text_data
from ttur_tf.distribute import make_strategy, replica_batches
from ttur_tf.gan import stack_critic_batches


def test_the_check_finds_a_python_generator():
    generated = tf.data.Dataset.from_generator(
        lambda: iter(range(3)), output_signature=tf.TensorSpec((), tf.int64))
    called = tf.data.Dataset.range(3).map(
        lambda x: tf.numpy_function(lambda v: v, [x], tf.int64))
    assert python_ops_in(generated) and python_ops_in(called)


def test_the_language_training_pipeline_has_no_python():
    lines = np.random.default_rng(0).integers(0, 20, (50, 8)).astype(np.int32)
    batches = text_data.training_batches(lines, 4, seed=0, start_batch=13)
    one_hot = stack_critic_batches(batches.map(lambda ids: tf.one_hot(ids, 20)), n_critic=2)
    assert python_ops_in(one_hot) == set()
    assert next(iter(one_hot)).shape == (4, 2, 8, 20)


def test_image_training_and_statistics_pipelines_have_no_python(tmp_path):
    images = random_images(10, 8, 8, seed=1)
    npz = tmp_path / "images.npz"
    np.savez(npz, images=images)
    folder = write_png_folder(tmp_path / "pngs", images)
    for source in (str(npz), str(folder)):
        data = image_data.load_image_data(source)
        assert python_ops_in(image_data.training_batches(data, 4, seed=0, start_image=7)) == set()
        assert python_ops_in(image_data.uint8_images(data)) == set()


def test_each_replica_reads_its_share_without_python():
    strategy = make_strategy("mirrored", tuple(TWO_DEVICES.split(",")))
    lines = np.arange(40, dtype=np.int32).reshape(20, 2)
    seen = []

    def batches_of_rows(rows):
        dataset = stack_critic_batches(text_data.training_batches(lines, 4, 0, rows=rows), 1)
        seen.append(python_ops_in(dataset))
        return dataset

    distributed = replica_batches(strategy, batches_of_rows, 4)
    element = next(iter(distributed))
    assert seen == [set()]
    shares = [tensor.numpy() for tensor in strategy.experimental_local_results(element)]
    assert [share.shape for share in shares] == [(2, 1, 2), (2, 1, 2)]


def test_a_workers_rows_are_those_rows_of_the_whole_batches_and_only_they_are_decoded(tmp_path):
    images = random_images(24, 8, 8, seed=2)
    npz = tmp_path / "images.npz"
    np.savez(npz, images=images)
    data = image_data.load_image_data(str(npz))
    decoded = tf.Variable(0, dtype=tf.int64)

    def counting_decode(element):
        decoded.assign_add(1)
        return data.decode(element)

    def read(rows):
        decoded.assign(0)
        counted = dataclasses.replace(data, decode=counting_decode)
        batches = image_data.training_batches(counted, 6, seed=1, start_image=9, rows=rows)
        return [batch.numpy() for batch in batches.take(20)], int(decoded.numpy())

    whole, decoded_for_all = read(None)
    mine, decoded_for_mine = read(slice(2, 4))
    for full, share in zip(whole, mine):
        np.testing.assert_array_equal(share, full[2:4])
    assert decoded_for_mine < decoded_for_all / 2  # 2 rows of 6 (and what prefetching ran ahead)
    lines = np.random.default_rng(0).integers(0, 20, (30, 4)).astype(np.int32)
    whole = list(text_data.training_batches(lines, 6, seed=1, start_batch=3).take(7))
    mine = list(text_data.training_batches(lines, 6, seed=1, start_batch=3,
                                           rows=slice(3, 6)).take(7))
    for full, share in zip(whole, mine):
        np.testing.assert_array_equal(share.numpy(), full.numpy()[3:6])
