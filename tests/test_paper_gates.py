"""The gates of the `paper` tier: they must skip for the right reason, never run on a stand-in."""

import json
import sys
from pathlib import Path

import numpy as np
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


def test_training_results_come_from_a_reproduction_in_the_papers_setting(environment, tmp_path):
    with pytest.raises(pytest.skip.Exception, match="run scripts/reproduce_table1.py and set "
                                                    "TTUR_PAPER_RESULTS"):
        paper_gates.table1_runs("wgan_gp_cifar10", "ttur")
    run = dict(row="wgan_gp_cifar10", setting="ttur", seed=0, status="finished",
               overrides=["--steps=4"])
    (tmp_path / "results.json").write_text(json.dumps({"runs": [run]}))
    environment["TTUR_PAPER_RESULTS"] = str(tmp_path / "results.json")
    with pytest.raises(pytest.skip.Exception, match="no finished run of wgan_gp_cifar10 \\(ttur\\) "
                                                    "in the paper's setting"):
        paper_gates.table1_runs("wgan_gp_cifar10", "ttur")
    (tmp_path / "results.json").write_text(json.dumps({"runs": [dict(run, overrides=[])]}))
    assert paper_gates.table1_runs("wgan_gp_cifar10", "ttur") == [dict(run, overrides=[])]


def test_published_statistics_are_looked_for_in_their_folder(environment, tmp_path):
    with pytest.raises(pytest.skip.Exception, match="TTUR_PAPER_STATS_DIR"):
        paper_gates.published_statistics("fid_stats_cifar10_train.npz")
    (tmp_path / "fid_stats_cifar10_train.npz").write_bytes(b"")
    environment["TTUR_PAPER_STATS_DIR"] = str(tmp_path)
    assert paper_gates.published_statistics("fid_stats_cifar10_train.npz").is_file()


def test_an_unprepared_tfds_dataset_skips(environment, tmp_path):
    environment["TFDS_DATA_DIR"] = str(tmp_path)
    with pytest.raises(pytest.skip.Exception, match="cifar10/train is not prepared"):
        paper_gates.require_tfds("cifar10")


@pytest.mark.heavy
@pytest.mark.slow
def test_the_full_size_costs_only_graph_has_the_2015_interface_and_is_not_taken_for_it(
        environment, tmp_path):
    from ttur_tf.fid import InceptionFeatures
    from ttur_tf.fid.fullsize import write_fullsize_graph
    from ttur_tf.fid.inception import read_graph_def

    path = write_fullsize_graph(tmp_path)
    nodes = {node.name: node for node in read_graph_def(path).node}
    assert len(nodes) > 1000  # Inception-v3's layers, frozen (the real graph: about 1,000)
    for name in ("DecodeJpeg/contents", "ExpandDims", "ResizeBilinear", "pool_3",
                 "pool_3/_reshape", "softmax/logits/MatMul", "softmax/weights", "softmax/biases"):
        assert name in nodes, name
    images = np.random.default_rng(0).integers(0, 256, (2, 40, 30, 3), dtype=np.uint8)
    features = np.asarray(InceptionFeatures(path, download=False)(images))
    assert features.shape == (2, 2048) and np.isfinite(features).all()
    environment["TTUR_PAPER_INCEPTION"] = str(path)
    found, reason = paper_gates._real_graph_path()
    assert found is None and "costs-only graph (random weights)" in reason


def _write_run(logdir: Path, steps: int, logged: dict[str, list[float]]) -> None:
    import tensorflow as tf

    logdir.mkdir(parents=True)
    (logdir / "config.json").write_text(json.dumps(dict(steps=steps, dataset="cifar10")))
    with tf.summary.create_file_writer(str(logdir)).as_default():
        for name, values in logged.items():
            for step, value in enumerate(values, start=1):
                tf.summary.scalar(name, value, step=step)


def test_later_models_come_from_finished_runs_of_their_flagfile(environment, tmp_path):
    flagfile = Path(__file__).parents[1] / "configs" / "biggan_cifar10.flags"
    with pytest.raises(pytest.skip.Exception, match="TTUR_PAPER_LATER_RUNS"):
        paper_gates.later_runs("biggan_cifar10", flagfile)
    environment["TTUR_PAPER_LATER_RUNS"] = str(tmp_path)
    _write_run(tmp_path / "biggan_cifar10_seed0", 2,
               dict(fid=[30.0, 20.0], inception_score=[7.0, 8.5]))
    _write_run(tmp_path / "biggan_cifar10_seed1", 5, dict(fid=[25.0]))  # unfinished
    _write_run(tmp_path / "biggan_cifar100", 2, dict(fid=[1.0]))  # another flagfile's
    runs = paper_gates.later_runs("biggan_cifar10", flagfile)
    assert len(runs) == 1 and runs[0]["best"]["fid"] == {"value": 20.0, "step": 2}
    assert runs[0]["best"]["inception_score"] == {"value": 8.5}
    with pytest.raises(pytest.skip.Exception, match="no finished run of configs/sngan_cifar10"):
        paper_gates.later_runs("sngan_cifar10", flagfile)
