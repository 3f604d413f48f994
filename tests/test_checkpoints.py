"""Checkpoints never lose a run and never restart one silently: real files, damaged on disk."""

import logging
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from test_language import language_config, tiny_corpus  # noqa: F401 (fixture)
from test_training import network_state
from ttur_tf.checkpoints import RunCheckpoints, checkpoint_files
from ttur_tf.errors import CheckpointError
from ttur_tf.training import train


def saved_run(folder, steps=(2, 4, 6)):
    """Checkpoints of a variable holding the step, at each of ``steps``."""
    value = tf.Variable(0.0)
    checkpoints = RunCheckpoints(tf.train.Checkpoint(value=value), folder, max_to_keep=5)
    for step in steps:
        value.assign(float(step))
        checkpoints.save(step)
    return folder


def restored_value(folder):
    value = tf.Variable(-1.0)
    step = RunCheckpoints(tf.train.Checkpoint(value=value), folder, max_to_keep=5).restore_latest()
    return step, float(value.numpy())


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture
def warnings_logged(caplog):
    caplog.set_level(logging.WARNING)
    return caplog


def test_the_newest_checkpoint_is_restored(tmp_path):
    assert restored_value(saved_run(tmp_path)) == (6, 6.0)


@pytest.mark.parametrize("damage", ["truncated data", "missing index", "missing data"])
def test_a_damaged_newest_checkpoint_is_reported_and_the_previous_one_restored(
        tmp_path, warnings_logged, damage):
    saved_run(tmp_path)
    data = next(tmp_path.glob("ckpt-6.data-*"))
    if damage == "truncated data":
        truncate(data)
    elif damage == "missing index":
        (tmp_path / "ckpt-6.index").unlink()
    else:
        data.unlink()
    assert restored_value(tmp_path) == (4, 4.0)
    assert "checkpoint" in warnings_logged.text and "ckpt-6 is damaged" in warnings_logged.text
    moved = sorted(path.name for path in (tmp_path / "damaged").iterdir())
    assert moved and all(name.startswith("ckpt-6.") for name in moved)  # kept, out of the way
    assert sorted(checkpoint_files(tmp_path)) == [2, 4]
    assert Path(tf.train.latest_checkpoint(str(tmp_path))).name == "ckpt-4"


@pytest.mark.parametrize("state", ["missing", "garbage"])
def test_without_a_usable_state_file_the_checkpoints_are_found_from_their_files(
        tmp_path, warnings_logged, state):
    saved_run(tmp_path)
    if state == "missing":
        (tmp_path / "checkpoint").unlink()
    else:
        (tmp_path / "checkpoint").write_text("model_checkpoint_path: {{{ not a proto")
    assert restored_value(tmp_path) == (6, 6.0)
    assert "rebuilt from the files: ckpt-2, ckpt-4, ckpt-6" in warnings_logged.text
    assert Path(tf.train.latest_checkpoint(str(tmp_path))).name == "ckpt-6"


def test_when_no_checkpoint_reads_nothing_is_moved_and_the_run_is_refused(tmp_path):
    saved_run(tmp_path, steps=(2, 4))
    for data in tmp_path.glob("ckpt-*.data-*"):
        truncate(data)
    with pytest.raises(CheckpointError, match="no checkpoint in .* can be read .*ckpt-4: .*"
                                              "ckpt-2: .*Nothing was changed"):
        restored_value(tmp_path)
    assert sorted(checkpoint_files(tmp_path)) == [2, 4] and not (tmp_path / "damaged").exists()


def test_a_checkpoint_of_other_networks_is_not_taken_for_damage(tmp_path):
    saved_run(tmp_path)
    other = RunCheckpoints(tf.train.Checkpoint(value=tf.Variable([0.0, 0.0])), tmp_path, 5)
    with pytest.raises(CheckpointError, match="ckpt-6 does not fit the networks these settings "
                                              "build .* written with other settings"):
        other.restore_latest()
    assert sorted(checkpoint_files(tmp_path)) == [2, 4, 6]


def test_an_unfinished_tensorflow_checkpoint_is_cleared(tmp_path):
    saved_run(tmp_path, steps=(2,))
    (tmp_path / "ckpt-4_temp").mkdir()
    (tmp_path / "ckpt-4_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"x")
    assert restored_value(tmp_path) == (2, 2.0)
    assert not (tmp_path / "ckpt-4_temp").exists()


# --- whole runs ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_run_whose_newest_checkpoints_are_damaged_resumes_from_the_last_good_one_exactly(
        tmp_path, tiny_corpus, caplog):  # noqa: F811 (fixture)
    # WGAN-GP with two critic updates a step: the noise and the gradient penalty's interpolation
    # weights, and the data order, continue exactly.
    caplog.set_level(logging.INFO)
    settings = dict(jsd_every=0, n_critic=2, steps=6)
    run = tmp_path / "run"
    train(language_config(run, tiny_corpus, **settings))  # checkpoints 2, 4, 6
    uninterrupted = network_state(run, None)
    for step in (4, 6):
        truncate(next((run / "checkpoints").glob(f"ckpt-{step}.data-*")))
    (run / "checkpoints" / "checkpoint").unlink()
    caplog.clear()
    assert train(language_config(run, tiny_corpus, **settings)).step == 6
    assert "ckpt-6 is damaged" in caplog.text and "ckpt-4 is damaged" in caplog.text
    assert "ckpt-2 at step 2" in caplog.text
    resumed = network_state(run, None)
    for name in uninterrupted:
        np.testing.assert_allclose(resumed[name], uninterrupted[name], rtol=1e-5, atol=1e-6,
                                   err_msg=name)


@pytest.mark.slow
def test_resuming_off_sees_checkpoints_even_without_the_state_file(tmp_path, tiny_corpus):  # noqa: F811
    train(language_config(tmp_path, tiny_corpus, steps=2, jsd_every=0))
    (tmp_path / "checkpoints" / "checkpoint").unlink()
    with pytest.raises(ValueError, match="already holds checkpoints and resuming is off"):
        train(language_config(tmp_path, tiny_corpus, steps=4, jsd_every=0, resume=False))
    assert sorted(checkpoint_files(tmp_path / "checkpoints")) == [2]


@pytest.mark.slow
def test_other_network_settings_are_named_against_config_json(tmp_path, tiny_corpus):  # noqa: F811
    train(language_config(tmp_path, tiny_corpus, steps=2, jsd_every=0))
    with pytest.raises(CheckpointError, match=f"{tmp_path} was written with other settings: "
                                              r"dim 16 \(now 8\)"):
        train(language_config(tmp_path, tiny_corpus, steps=4, jsd_every=0, dim=8))
    (tmp_path / "config.json").unlink()  # an older run folder: the restore itself tells
    with pytest.raises(CheckpointError, match="does not fit the networks these settings build"):
        train(language_config(tmp_path, tiny_corpus, steps=4, jsd_every=0, dim=8))
    assert sorted(checkpoint_files(tmp_path / "checkpoints")) == [2]
