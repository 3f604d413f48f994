"""Image pipelines: tfds (mock data), folders and .npz → uint8 for FID, [-1, 1] batches for training."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from conftest import random_images, write_png_folder
from ttur_tf.data.images import decoded_in_memory, load_image_data, training_batches, uint8_images


def first_batches(data, count, batch_size=4, seed=0, start_image=0):
    dataset = training_batches(data, batch_size, seed, start_image)
    return [batch.numpy() for batch in dataset.take(count)]


@pytest.mark.parametrize("name, size", [
    ("cifar10", 32), ("svhn_cropped", 32), ("celeb_a", 64), ("lsun/bedroom", 64),
])
def test_paper_datasets_give_squares_of_the_papers_size(name, size):
    with tfds.testing.mock_data(num_examples=6):
        data = load_image_data(name)
        images = [image.numpy() for image in uint8_images(data)]
        batch = first_batches(data, 1)[0]
    assert data.num_images == 6 and data.image_size == size
    assert all(image.shape == (size, size, 3) and image.dtype == np.uint8 for image in images)
    assert batch.shape == (4, size, size, 3) and batch.dtype == np.float32
    assert batch.min() >= -1.0 and batch.max() <= 1.0


def test_celeb_a_is_center_cropped_to_108_then_resized():
    with tfds.testing.mock_data(num_examples=1):
        data = load_image_data("celeb_a")
        encoded = next(iter(data.elements))
        raw = tfds.builder("celeb_a").info.features["image"].decode_example(encoded).numpy()
        image = next(iter(uint8_images(data))).numpy()
    top, left = (218 - 108) // 2, (178 - 108) // 2
    crop = raw[top:top + 108, left:left + 108].astype(np.float32)
    expected = tf.image.resize(crop, [64, 64], "bilinear", antialias=True).numpy()
    np.testing.assert_allclose(image, np.clip(np.round(expected), 0, 255), atol=1)


def test_pixels_map_to_minus_one_one_like_the_original(tmp_path):
    images = np.zeros((2, 8, 8, 3), np.uint8)
    images[0] = 255
    np.savez(tmp_path / "images.npz", images=images)
    batch = first_batches(load_image_data(str(tmp_path / "images.npz")), 1, batch_size=2)[0]
    expected = 2 * (images.astype(np.float32) / 255 - 0.5)
    np.testing.assert_allclose(np.sort(batch, axis=0), np.sort(expected, axis=0), atol=1e-6)


def test_a_folder_is_center_cropped_and_resized(tmp_path):
    write_png_folder(tmp_path / "imgs", random_images(3, 12, 20))
    data = load_image_data(str(tmp_path / "imgs"), image_size=8)
    assert data.num_images == 3
    assert {image.shape for image in map(np.asarray, uint8_images(data))} == {(8, 8, 3)}


def test_training_order_depends_on_the_seed_and_resumes_at_any_position(tmp_path):
    images = random_images(10, 4, 4)
    np.savez(tmp_path / "images.npz", images=images)
    data = load_image_data(str(tmp_path / "images.npz"))
    uninterrupted = np.concatenate(first_batches(data, 8, batch_size=3, seed=5))
    resumed = np.concatenate(first_batches(data, 4, batch_size=3, seed=5, start_image=12))
    np.testing.assert_array_equal(resumed, uninterrupted[12:24])
    other_seed = np.concatenate(first_batches(data, 8, batch_size=3, seed=6))
    assert not np.array_equal(other_seed, uninterrupted)
    # every epoch is a permutation of the 10 images
    epoch = uninterrupted[:10].reshape(10, -1)
    expected = (images.astype(np.float32) / 127.5 - 1).reshape(10, -1)
    np.testing.assert_allclose(np.sort(epoch, axis=0), np.sort(expected, axis=0), atol=1e-6)


def test_missing_and_empty_sources_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a folder"):
        load_image_data(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_data(str(tmp_path / "missing.npz"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        load_image_data(str(tmp_path / "empty"))
    np.savez(tmp_path / "gray.npz", images=np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"uint8 array \(N, H, W, 3\)"):
        load_image_data(str(tmp_path / "gray.npz"))


def test_a_tfds_dataset_that_is_not_prepared_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="TFDS_DATA_DIR"):
        load_image_data("tfds:this_dataset_does_not_exist", image_size=32)


def test_images_decoded_in_memory_give_the_same_batches_and_too_many_are_not_kept(tmp_path):
    folder = write_png_folder(tmp_path / "pngs", random_images(10, 12, 12, seed=4))
    data = load_image_data(str(folder), image_size=8)
    cached = decoded_in_memory(data)
    assert cached.in_memory and not data.in_memory
    for expected, actual in zip(first_batches(data, 6, start_image=3),
                                first_batches(cached, 6, start_image=3)):
        np.testing.assert_array_equal(actual, expected)
    assert decoded_in_memory(data, budget_bytes=10 * 8 * 8 * 3 - 1) is data
