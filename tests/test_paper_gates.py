"""The gates of the `paper` tier: they must skip for the right reason, never run on a stand-in."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "paper"))
import paper_gates  # noqa: E402


@pytest.fixture
def environment(monkeypatch):
    for name in paper_gates._ENVIRONMENT:
        monkeypatch.setitem(paper_gates._ENVIRONMENT, name, "")
    monkeypatch.setattr(paper_gates, "_CHECKOUT", Path("/nonexistent"))
    monkeypatch.setitem(paper_gates._ENVIRONMENT, "XDG_CACHE_HOME", "/nonexistent")
    return paper_gates._ENVIRONMENT


def test_without_a_graph_the_reason_says_where_to_put_it(environment):
    path, reason = paper_gates._real_graph_path()
    assert path is None and "TTUR_PAPER_INCEPTION" in reason


def test_the_stand_in_graph_is_not_taken_for_the_real_one(environment, standin_graph_path):
    environment["TTUR_PAPER_INCEPTION"] = str(standin_graph_path)
    path, reason = paper_gates._real_graph_path()
    assert path is None and "not the original 2015 Inception graph" in reason


def test_training_runs_need_consent_and_published_statistics_their_folder(environment, tmp_path):
    with pytest.raises(pytest.skip.Exception, match="TTUR_PAPER_TRAIN=1"):
        paper_gates.require_training_consent()
    with pytest.raises(pytest.skip.Exception, match="TTUR_PAPER_STATS_DIR"):
        paper_gates.published_statistics("fid_stats_cifar10_train.npz")
    (tmp_path / "fid_stats_cifar10_train.npz").write_bytes(b"")
    environment["TTUR_PAPER_STATS_DIR"] = str(tmp_path)
    assert paper_gates.published_statistics("fid_stats_cifar10_train.npz").is_file()


def test_an_unprepared_tfds_dataset_skips(environment, tmp_path):
    environment["TFDS_DATA_DIR"] = str(tmp_path)
    with pytest.raises(pytest.skip.Exception, match="cifar10/train is not prepared"):
        paper_gates.require_tfds("cifar10")
