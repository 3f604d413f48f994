"""FID between two sources, and the warnings for statistics that should not be compared."""

import numpy as np
import pytest

from ttur_tf.fid import Statistics, fid_between


def save(path, shift=0.0, image_size=(32, 32), graph_sha256="a" * 64):
    Statistics(np.full(4, shift), np.eye(4), 10_000, image_size, graph_sha256).save(path)
    return path


def test_two_statistics_files_give_the_closed_form_value(tmp_path):
    fid, first, second = fid_between(save(tmp_path / "a.npz"), save(tmp_path / "b.npz", shift=0.5))
    assert fid == pytest.approx(4 * 0.25)
    assert first.num_images == second.num_images == 10_000


def test_different_image_sizes_warn(tmp_path):
    with pytest.warns(UserWarning, match=r"different sizes \(\(32, 32\) vs \(64, 64\)\)"):
        fid_between(save(tmp_path / "a.npz"), save(tmp_path / "b.npz", image_size=(64, 64)))


def test_different_graphs_warn(tmp_path):
    with pytest.warns(UserWarning, match="different Inception graphs"):
        fid_between(save(tmp_path / "a.npz"), save(tmp_path / "b.npz", graph_sha256="b" * 64))


def test_a_missing_source_is_reported_before_any_graph_is_loaded(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing does not exist"):
        fid_between(save(tmp_path / "a.npz"), tmp_path / "missing")
