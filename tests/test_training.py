"""Training runs end to end (tiny networks, generated data, the stand-in graph): what they write,
resuming after a crash, the NaN guard, and bad settings."""

import glob
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import random_images
from ttur_tf.callbacks import NonFiniteLossError
from ttur_tf.training import TrainConfig, train
from ttur_tf.training_flags import config_from_flagfile

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def image_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "images.npz"
    np.savez(path, images=random_images(40, 16, 16, seed=3))
    return str(path)


def tiny_config(logdir, dataset, **overrides):
    settings = dict(logdir=str(logdir), dataset=dataset, image_size=16, dim=4, batch_size=4,
                    steps=4, log_every=1, sample_every=2, checkpoint_every=2, fid_every=0)
    settings.update(overrides)
    return TrainConfig(**settings)


def event_tags(logdir):
    tags = {}
    for path in glob.glob(str(Path(logdir) / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    return tags


def network_state(logdir, config):
    """Generator, discriminator and optimizer variables of the latest checkpoint in ``logdir``."""
    reader = tf.train.load_checkpoint(str(Path(logdir) / "checkpoints"))
    names = sorted(name for name in reader.get_variable_to_shape_map()
                   if not name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH"))
    return {name: reader.get_tensor(name) for name in names}


@pytest.mark.filterwarnings("ignore:only|the covariances")
def test_a_run_logs_losses_fid_and_samples_and_checkpoints(tmp_path, image_npz, standin_graph_path):
    config = tiny_config(tmp_path / "run", image_npz, fid_every=2, fid_num_samples=12,
                         fid_sample_batch_size=5, fid_batch_size=6,
                         inception_path=str(standin_graph_path))
    result = train(config)
    tags = event_tags(config.logdir)
    for tag in ("d_loss", "g_loss", "gradient_penalty", "wasserstein", "fid", "best_fid", "samples"):
        assert tag in tags, tag
    assert tags["fid"] == [2, 4] and tags["d_loss"] == [1, 2, 3, 4]
    assert result.step == 4 and np.isfinite(result.last_fid)
    assert result.best_fid == min(result.best_fid, result.last_fid)
    assert sorted(p.name for p in (Path(config.logdir) / "samples").iterdir()) == [
        "samples_00000002.png", "samples_00000004.png"]
    assert (Path(config.logdir) / "reference_stats.npz").is_file()
    assert (Path(config.logdir) / "checkpoints" / "ckpt-4.index").is_file()


class CrashAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.step) == self.step:
            raise KeyboardInterrupt("simulated crash")


@pytest.mark.parametrize("model, loss, n_critic", [("resnet", "wgan-gp", 2), ("dcgan", "dcgan", 1)])
def test_resuming_after_a_crash_continues_like_an_uninterrupted_run(tmp_path, image_npz, model,
                                                                    loss, n_critic):
    settings = dict(model=model, loss=loss, n_critic=n_critic, steps=5)
    uninterrupted = tiny_config(tmp_path / "a", image_npz, **settings)
    train(uninterrupted)
    interrupted = tiny_config(tmp_path / "b", image_npz, **settings)
    with pytest.raises(KeyboardInterrupt):
        train(interrupted, extra_callbacks=[CrashAt(3)])  # after the checkpoint at step 2
    assert train(interrupted).step == 5
    expected, resumed = network_state(uninterrupted.logdir, uninterrupted), network_state(
        interrupted.logdir, interrupted)
    assert expected.keys() == resumed.keys()
    for name in expected:
        np.testing.assert_allclose(resumed[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


class PoisonTheCritic(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.step) == 3:
            for variable in self.model.discriminator.trainable_variables:
                variable.assign(tf.fill(variable.shape, np.nan))


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, image_npz):
    config = tiny_config(tmp_path / "run", image_npz, steps=6)
    with pytest.raises(NonFiniteLossError, match="step 4: .*nan.*last good checkpoint"):
        train(config, extra_callbacks=[PoisonTheCritic()])
    state = tf.train.get_checkpoint_state(str(Path(config.logdir) / "checkpoints"))
    assert state.model_checkpoint_path.endswith("ckpt-2")
    assert all(np.all(np.isfinite(value)) for value in network_state(config.logdir, config).values()
               if value.dtype.kind == "f")


def test_existing_checkpoints_are_never_overwritten_when_resuming_is_off(tmp_path, image_npz):
    train(tiny_config(tmp_path / "run", image_npz, steps=2))
    with pytest.raises(ValueError, match="already holds checkpoints"):
        train(tiny_config(tmp_path / "run", image_npz, steps=4, resume=False))


def test_a_missing_statistics_file_is_named(tmp_path, image_npz, standin_graph_path):
    config = tiny_config(tmp_path / "run", image_npz, fid_every=2, fid_stats=str(tmp_path / "no.npz"),
                         inception_path=str(standin_graph_path))
    with pytest.raises(FileNotFoundError, match="no.npz does not exist"):
        train(config)


@pytest.mark.parametrize("setting, message", [
    (dict(n_critic=0), "n_critic must be ≥ 1"),
    (dict(d_lr=0.0), "d_lr must be > 0"),
    (dict(g_beta2=1.0), r"g_beta2 must be in \[0, 1\)"),
    (dict(loss="hinge"), "loss must be one of"),
])
def test_out_of_range_settings_are_refused(tmp_path, image_npz, setting, message):
    with pytest.raises(ValueError, match=message):
        train(tiny_config(tmp_path / "run", image_npz, **setting))


@pytest.mark.parametrize("flagfile", sorted(CONFIGS.glob("*.flags")), ids=lambda p: p.name)
def test_every_flagfile_parses_into_a_valid_config(flagfile):
    config = config_from_flagfile(flagfile, logdir="/tmp/unused")
    config.validate()
    if flagfile.name.endswith("_ttur.flags"):
        assert config.d_lr != config.g_lr
