"""Moments merged from parts (buffers, shards, partial files) equal one pass over every row."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import mean_color_features, random_images, run_script_in_process, script_module, write_png_folder

from ttur_tf.fid.moments import PartialMoments, RunningMoments, load_partial, merge_partials, save_partial
from ttur_tf.fid.stats import compute_moments, compute_statistics, load_statistics, statistics_of_moments


def offset_rows(count, dim=32, seed=0):
    """float32 rows whose mean (1000) is far larger than their spread, as pool_3 features' is not
    quite but a naive sum of outer products would not survive."""
    return np.random.default_rng(seed).normal(1000.0, 0.5, (count, dim)).astype(np.float32)


def assert_equal_to_one_pass(moments, rows):
    rows = rows.astype(np.float64)
    assert moments.count == rows.shape[0]
    np.testing.assert_allclose(moments.mean, rows.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(moments.covariance, np.cov(rows, rowvar=False), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("flush_rows", [1, 7, 512])
def test_buffered_rows_give_the_moments_of_one_pass(flush_rows):
    rows = offset_rows(1000)
    moments = RunningMoments(32, flush_rows=flush_rows)
    for start in range(0, 1000, 3):  # batches of 3 rows, as at a tiny Inception batch
        moments.update(rows[start:start + 3])
    assert_equal_to_one_pass(moments, rows)


def test_a_single_row_batch_is_buffered_not_merged():
    moments = RunningMoments(4, flush_rows=3)
    moments.update(np.ones((1, 4)))
    moments.update(np.ones((1, 4)))
    assert moments.count == 2 and moments._count == 0  # still pending
    moments.update(np.ones((1, 4)))
    assert moments._count == 3 and moments._pending_rows == 0


def test_merging_parts_equals_one_pass_whatever_the_split():
    rows = offset_rows(901)
    merged = RunningMoments(32)
    for part in np.array_split(rows, [1, 2, 300, 650]):
        moments = RunningMoments(32)
        moments.update(part)
        merged.merge(moments)
    merged.merge(RunningMoments(32))  # an empty part (a shard with no image) changes nothing
    assert_equal_to_one_pass(merged, rows)


def test_partial_files_round_trip(tmp_path):
    moments = RunningMoments(32)
    moments.update(offset_rows(10))
    save_partial(tmp_path / "part.npz", PartialMoments(moments, 1, 3, (8, 8), "abc"))
    partial = load_partial(tmp_path / "part.npz")
    assert (partial.shard_index, partial.num_shards, partial.image_size, partial.graph_sha256) == (1, 3, (8, 8), "abc")
    assert partial.moments.count == 10
    np.testing.assert_array_equal(partial.moments.covariance, moments.covariance)


def test_a_statistics_file_is_not_a_partial_file(tmp_path):
    with pytest.warns(UserWarning, match="rank-deficient"):
        statistics = compute_statistics(random_images(4, 4, 4), mean_color_features)
    statistics.save(tmp_path / "stats.npz")
    with pytest.raises(ValueError, match="not a partial statistics file.*--num_shards"):
        load_partial(tmp_path / "stats.npz")


def _partial(shard_index, num_shards, sha=""):
    moments = RunningMoments(2)
    moments.update(np.eye(2))
    return PartialMoments(moments, shard_index, num_shards, None, sha)


@pytest.mark.parametrize(
    "partials, message",
    [
        ([], "no partial statistics"),
        ([_partial(0, 3), _partial(2, 3)], r"missing \[1\]"),
        ([_partial(0, 2), _partial(0, 2), _partial(1, 2)], r"given twice \[0\]"),
        ([_partial(0, 2), _partial(1, 3)], "different splits"),
        ([_partial(0, 2, "a"), _partial(1, 2, "b")], "different Inception graphs"),
    ],
)
def test_merging_an_incomplete_or_mixed_set_of_shards_is_refused(partials, message):
    with pytest.raises(ValueError, match=message):
        merge_partials(partials)


def _sources(tmp_path, images):
    folder = write_png_folder(tmp_path / "images", images)
    return {
        "array": lambda: images,
        "folder": lambda: folder,
        "dataset": lambda: tf.data.Dataset.from_tensor_slices(images),
    }


@pytest.mark.filterwarnings("ignore:only")
@pytest.mark.parametrize("kind", ["array", "folder", "dataset"])
def test_shards_of_a_source_merge_to_the_statistics_of_one_pass(tmp_path, kind):
    images = random_images(23, 6, 6, seed=3)
    source = _sources(tmp_path, images)[kind]
    whole = compute_statistics(source(), mean_color_features, batch_size=4)
    shards = [compute_moments(source(), mean_color_features, batch_size=4, num_shards=3, shard_index=index)
              for index in range(3)]
    assert [shard.moments.count for shard in shards] == [8, 8, 7]
    merged = statistics_of_moments(merge_partials(shards))
    assert merged.num_images == 23 and merged.image_size == (6, 6)
    np.testing.assert_allclose(merged.mu, whole.mu, rtol=1e-10)
    np.testing.assert_allclose(merged.sigma, whole.sigma, rtol=1e-10)


def test_a_bad_shard_is_refused():
    with pytest.raises(ValueError, match="shard_index < num_shards"):
        compute_moments(random_images(4), mean_color_features, num_shards=2, shard_index=2)
    with pytest.raises(ValueError, match="drop_remainder"):
        compute_moments(random_images(4), mean_color_features, drop_remainder=True, num_shards=2)


class ColorFeatures:
    """Stands in for ``InceptionFeatures`` in the script: mean-color features, a fixed hash."""

    graph_sha256 = "color"

    def __init__(self, inception_path=None):
        del inception_path

    def __call__(self, batch):
        return mean_color_features(batch)


@pytest.mark.filterwarnings("ignore:only")
def test_precalc_stats_shards_and_merge_equal_a_single_run(tmp_path, monkeypatch):
    monkeypatch.setattr(script_module("precalc_stats.py"), "InceptionFeatures", ColorFeatures)
    folder = write_png_folder(tmp_path / "images", random_images(11, 8, 8, seed=5))
    code, _, err = run_script_in_process("precalc_stats.py", f"--data={folder}", f"--out={tmp_path / 'one.npz'}")
    assert code == 0, err
    parts = []
    for index in range(2):
        parts.append(tmp_path / f"part{index}.npz")
        code, out, err = run_script_in_process("precalc_stats.py", f"--data={folder}", "--num_shards=2",
                                               f"--shard_index={index}", f"--out={parts[-1]}")
        assert code == 0, err
        assert f"shard {index} of 2" in out
    code, out, err = run_script_in_process("precalc_stats.py", f"--merge={parts[1]},{parts[0]}",
                                           f"--out={tmp_path / 'merged.npz'}")
    assert code == 0, err
    assert "statistics of 11 images from 2 shards" in out
    one, merged = load_statistics(tmp_path / "one.npz"), load_statistics(tmp_path / "merged.npz")
    assert merged.num_images == 11 and merged.graph_sha256 == "color" and merged.image_size == (8, 8)
    np.testing.assert_allclose(merged.mu, one.mu, rtol=1e-10)
    np.testing.assert_allclose(merged.sigma, one.sigma, rtol=1e-10)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out={out}"], "either --data"),
        (["--data={tmp}", "--merge={tmp}/a.npz", "--out={out}"], "either --data"),
        (["--data={tmp}", "--num_shards=2", "--shard_index=2", "--out={out}"], "less than --num_shards"),
        (["--merge={tmp}/a.npz", "--out={out}"], "does not exist"),
    ],
)
def test_precalc_stats_explains_bad_shard_flags(tmp_path, args, message):
    paths = dict(tmp=tmp_path, out=tmp_path / "out.npz")
    code, _, err = run_script_in_process("precalc_stats.py", *[arg.format(**paths) for arg in args])
    assert code == 1 and message in err
