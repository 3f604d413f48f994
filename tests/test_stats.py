"""Streaming statistics, their .npz files, and every image source."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from conftest import mean_color_features, random_images, run_script_in_process, write_png_folder

from ttur_tf.fid import RunningMoments, Statistics, compute_statistics, load_statistics
from ttur_tf.data.tfds_sources import parse_tfds_source


def test_running_moments_equal_numpy_mean_and_cov():
    features = np.random.default_rng(0).normal(3.0, 2.0, (1037, 48)).astype(np.float32)
    moments = RunningMoments(48)
    for start, stop in ((0, 1), (1, 50), (50, 51), (51, 700), (700, 1037)):
        moments.update(features[start:stop])
    features = features.astype(np.float64)
    np.testing.assert_allclose(moments.mean, features.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(moments.covariance, np.cov(features, rowvar=False), rtol=1e-10, atol=1e-12)


def test_running_moments_reject_wrong_shapes_and_single_samples():
    moments = RunningMoments(4)
    with pytest.raises(ValueError, match=r"\(b, 4\)"):
        moments.update(np.zeros((2, 5)))
    moments.update(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        moments.covariance


def test_every_image_is_used_whatever_the_batch_size():
    images = random_images(2049, 4, 4)
    statistics = compute_statistics(images, mean_color_features, batch_size=50)
    assert statistics.num_images == 2049
    features = mean_color_features(images)
    np.testing.assert_allclose(statistics.mu, features.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(statistics.sigma, np.cov(features, rowvar=False), rtol=1e-10)


def test_drop_remainder_reproduces_the_original_image_count():
    images = random_images(2049, 4, 4)
    statistics = compute_statistics(images, mean_color_features, batch_size=50, drop_remainder=True)
    assert statistics.num_images == 2000
    np.testing.assert_allclose(statistics.mu, mean_color_features(images[:2000]).mean(axis=0), rtol=1e-10)


def test_few_images_warn_about_rank_and_bias():
    with pytest.warns(UserWarning, match="rank-deficient"):
        compute_statistics(random_images(5, 4, 4), mean_color_features)
    with pytest.warns(UserWarning, match="at least 10,000"):
        compute_statistics(random_images(100, 4, 4), mean_color_features)


def test_a_single_image_is_an_error():
    with pytest.raises(ValueError, match="at least 2 images"):
        compute_statistics(random_images(1, 4, 4), mean_color_features)


def test_an_array_of_the_wrong_rank_is_an_error():
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        compute_statistics(np.zeros((10, 4, 4)), mean_color_features)


@pytest.mark.filterwarnings("ignore:only")
def test_all_sources_give_the_same_statistics(tmp_path):
    images = random_images(40, 8, 6, seed=3)
    folder = write_png_folder(tmp_path / "images", images)
    single = tf.data.Dataset.from_tensor_slices(images)
    sources = {
        "array": images,
        "folder": folder,
        "folder as str": str(folder),
        "dataset of images": single,
        "dataset of batches": single.batch(7),
    }
    results = {name: compute_statistics(source, mean_color_features, batch_size=16) for name, source in sources.items()}
    for name, statistics in results.items():
        assert statistics.num_images == 40, name
        assert statistics.image_size == (8, 6), name
        np.testing.assert_allclose(statistics.mu, results["array"].mu, rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(statistics.sigma, results["array"].sigma, rtol=1e-10, err_msg=name)


@pytest.mark.filterwarnings("ignore:only")
def test_tfds_split_is_read_without_downloading():
    with tfds.testing.mock_data(num_examples=30):
        statistics = compute_statistics("tfds:cifar10/test", mean_color_features, batch_size=8)
    assert statistics.num_images == 30
    assert statistics.image_size == (32, 32)


def test_missing_tfds_dataset_is_a_clear_error():
    with pytest.raises(ValueError, match="could not load the tfds dataset"):
        compute_statistics("tfds:no_such_dataset_xyz", mean_color_features)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("tfds:cifar10", ("cifar10", "train")),
        ("tfds:cifar10/test", ("cifar10", "test")),
        ("tfds:lsun/bedroom", ("lsun/bedroom", "train")),
        ("tfds:lsun/bedroom/validation", ("lsun/bedroom", "validation")),
        ("tfds:celeb_a/train[:10%]", ("celeb_a", "train[:10%]")),
    ],
)
def test_tfds_names_and_splits_are_parsed(source, expected):
    assert parse_tfds_source(source) == expected


@pytest.mark.filterwarnings("ignore:only")
def test_mixed_image_sizes_are_batched_by_size(tmp_path):
    small, large = random_images(3, 8, 8, seed=1), random_images(4, 12, 10, seed=2)
    folder = write_png_folder(tmp_path / "mixed", list(small) + list(large))
    seen_shapes = []

    def recording_features(batch):
        seen_shapes.append(batch.shape)
        return mean_color_features(batch)

    statistics = compute_statistics(folder, recording_features, batch_size=5)
    assert seen_shapes == [(3, 8, 8, 3), (4, 12, 10, 3)]
    assert statistics.num_images == 7 and statistics.image_size is None


def test_statistics_round_trip_with_metadata(tmp_path):
    rng = np.random.default_rng(0)
    original = Statistics(rng.normal(size=8), np.eye(8) * 2.0, 1234, (64, 64), "ab" * 32)
    original.save(tmp_path / "stats.npz")
    loaded = load_statistics(tmp_path / "stats.npz")
    np.testing.assert_array_equal(loaded.mu, original.mu)
    np.testing.assert_array_equal(loaded.sigma, original.sigma)
    assert (loaded.num_images, loaded.image_size, loaded.graph_sha256) == (1234, (64, 64), "ab" * 32)
    assert loaded.mu.dtype == loaded.sigma.dtype == np.float64
    assert not list(tmp_path.glob("*.tmp")), "the atomic write left a temporary file"


def test_our_files_read_as_the_original_reads_them(tmp_path):
    Statistics(np.arange(3.0), np.eye(3), 10, None).save(tmp_path / "ours.npz")
    data = np.load(tmp_path / "ours.npz")  # what the original's _handle_path does
    np.testing.assert_array_equal(data["mu"][:], np.arange(3.0))
    np.testing.assert_array_equal(data["sigma"][:], np.eye(3))


def test_original_files_load(tmp_path):
    np.savez(tmp_path / "fid_stats_original.npz", mu=np.ones(4, np.float32), sigma=np.eye(4, dtype=np.float32))
    loaded = load_statistics(tmp_path / "fid_stats_original.npz")
    assert loaded.mu.dtype == np.float64 and loaded.num_images == 0 and loaded.image_size is None


def test_bad_statistics_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_statistics(tmp_path / "missing.npz")
    np.savez(tmp_path / "wrong_keys.npz", mean=np.ones(3))
    with pytest.raises(ValueError, match="no 'mu' and 'sigma'"):
        load_statistics(tmp_path / "wrong_keys.npz")
    np.savez(tmp_path / "wrong_shape.npz", mu=np.ones(3), sigma=np.ones((3, 4)))
    with pytest.raises(ValueError, match="must have shape"):
        load_statistics(tmp_path / "wrong_shape.npz")
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="garbage.npz is not an FID statistics file: it is not "
                                         "an .npz archive"):
        load_statistics(tmp_path / "garbage.npz")


def test_files_that_are_not_npz_archives_are_named_in_one_line_by_the_fid_script(tmp_path):
    """NumPy alone answers an empty file with EOFError and random bytes with a text about
    pickles; the script names the file instead."""
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "random.npz").write_bytes(np.random.default_rng(0).bytes(4096))
    np.savez(tmp_path / "good.npz", mu=np.zeros(3), sigma=np.eye(3))
    for name, reason in (("empty", "the file is empty (an interrupted copy?)"), ("random", "it is not an .npz archive")):
        status, _, stderr = run_script_in_process("fid.py", tmp_path / f"{name}.npz",
                                                  tmp_path / "good.npz")
        assert status == 1
        assert stderr.strip().splitlines() == [
            f"error: {tmp_path / name}.npz is not an FID statistics file or an .npz of images: "
            f"{reason}"]
