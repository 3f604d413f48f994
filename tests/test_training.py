"""Training runs end to end (tiny networks, generated data, a small feature function for FID):
what they write, resuming after a crash, the NaN guard, bad inputs and settings."""

import glob
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import mean_color_features, random_images, write_png_folder
from ttur_tf import callbacks
from ttur_tf.errors import NonFiniteLossError
from ttur_tf.fid import Statistics
from ttur_tf.training import TrainConfig, train
from ttur_tf.training_flags import config_from_flagfile

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def image_npz_path(folder):
    """40 random 16×16 images as an .npz in ``folder``."""
    path = Path(folder) / "images.npz"
    np.savez(path, images=random_images(40, 16, 16, seed=3))
    return str(path)


@pytest.fixture(scope="module")
def image_npz(tmp_path_factory):
    return image_npz_path(tmp_path_factory.mktemp("data"))


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
    """Generator, discriminator and optimizer variables (and the step, the evaluation state) of
    the latest checkpoint in ``logdir``; not the wall clock."""
    reader = tf.train.load_checkpoint(str(Path(logdir) / "checkpoints"))
    names = sorted(name for name in reader.get_variable_to_shape_map()
                   if not name.startswith(("_CHECKPOINTABLE_OBJECT_GRAPH", "elapsed_seconds")))
    return {name: reader.get_tensor(name) for name in names}


def assert_resumed_like_uninterrupted(uninterrupted, resumed) -> dict:
    """The latest checkpoints of two runs hold the same variables with the same values (to
    float32 round-off); returns the uninterrupted run's."""
    expected = network_state(uninterrupted.logdir, uninterrupted)
    actual = network_state(resumed.logdir, resumed)
    assert expected.keys() == actual.keys()
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
    return expected


@pytest.mark.filterwarnings("ignore:only|the covariances")
def test_a_run_logs_losses_fid_samples_and_its_settings_and_checkpoints(tmp_path, image_npz):
    config = tiny_config(tmp_path / "run", image_npz, fid_every=2, fid_num_samples=12,
                         fid_sample_batch_size=5, fid_batch_size=6)
    result = train(config, features=mean_color_features)
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
    hparams = logged_hparams(config.logdir)
    assert hparams["d_lr"].number_value == pytest.approx(3e-4)
    assert hparams["n_critic"].number_value == 1 and hparams["loss"].string_value == "wgan-gp"
    assert hparams["seed"].number_value == 0 and hparams["model"].string_value == "resnet"


def logged_hparams(logdir):
    """The settings the run logged as TensorBoard HParams (one session)."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    sessions = []
    for path in glob.glob(str(Path(logdir) / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "hparams":
                    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
                    if data.HasField("session_start_info"):
                        sessions.append(data.session_start_info.hparams)
    assert len(sessions) == 1
    return sessions[0]


def logged_scalars(logdir, tag):
    """{step: value} of a scalar ``tag`` in the run's events."""
    values = {}
    for path in sorted(glob.glob(str(Path(logdir) / "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == tag:
                    values[event.step] = float(tf.make_ndarray(value.tensor))
    return values


class CrashAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.step) == self.step:
            raise KeyboardInterrupt("simulated crash")


@pytest.mark.slow
def test_resuming_after_a_crash_continues_like_an_uninterrupted_run(tmp_path, image_npz):
    # The image pipeline's resume offset with n_critic 2, DiffAugment's draws and the generator's
    # average; the gradient penalty's noise and the language pipeline resume in test_language.py.
    settings = dict(model="dcgan", n_critic=2, steps=5, diffaugment="color,translation,cutout",
                    ema_decay=0.5)
    uninterrupted = tiny_config(tmp_path / "a", image_npz, **settings)
    train(uninterrupted)
    interrupted = tiny_config(tmp_path / "b", image_npz, **settings)
    with pytest.raises(KeyboardInterrupt):
        train(interrupted, extra_callbacks=[CrashAt(3)])  # after the checkpoint at step 2
    assert train(interrupted).step == 5
    clock = logged_scalars(interrupted.logdir, "elapsed_seconds")
    assert sorted(clock) == [1, 2, 3, 4, 5] and clock[5] > clock[4] > clock[3] > clock[2]
    assert_resumed_like_uninterrupted(uninterrupted, interrupted)


class FakeModel:
    def __init__(self):
        self.step = tf.Variable(0, dtype=tf.int64)


def test_the_wall_clock_continues_from_its_restored_value_and_is_logged(tmp_path, monkeypatch):
    clock = iter([10.0, 13.0, 14.5])
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: next(clock))
    writer = tf.summary.create_file_writer(str(tmp_path))
    elapsed = callbacks.ElapsedTime(writer, every=2)
    elapsed.set_model(FakeModel())
    elapsed.seconds.assign(100.0)  # as restored from a checkpoint
    elapsed.on_train_begin()  # at 10 s
    for step in (1, 2):  # at 13 s and 14.5 s
        elapsed.model.step.assign(step)
        elapsed.on_train_batch_end(step - 1)
    writer.flush()
    assert elapsed.seconds.numpy() == 104.5
    assert logged_scalars(tmp_path, "elapsed_seconds") == {2: 104.5}


class PoisonTheCritic(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.step) == 3:
            for variable in self.model.discriminator.trainable_variables:
                variable.assign(tf.fill(variable.shape, np.nan))


@pytest.mark.slow
def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, image_npz):
    config = tiny_config(tmp_path / "run", image_npz, steps=6, model="dcgan")
    with pytest.raises(NonFiniteLossError, match="step 4: .*nan.*last good checkpoint"):
        train(config, extra_callbacks=[PoisonTheCritic()])
    state = tf.train.get_checkpoint_state(str(Path(config.logdir) / "checkpoints"))
    assert state.model_checkpoint_path.endswith("ckpt-2")
    assert all(np.all(np.isfinite(value)) for value in network_state(config.logdir, config).values()
               if value.dtype.kind == "f")


def test_a_missing_statistics_file_is_named(tmp_path, image_npz):
    config = tiny_config(tmp_path / "run", image_npz, fid_every=2, fid_stats=str(tmp_path / "no.npz"))
    with pytest.raises(FileNotFoundError, match="no.npz does not exist"):
        train(config, features=mean_color_features)


def test_statistics_of_the_wrong_dimension_are_refused_before_the_first_step(tmp_path, image_npz):
    Statistics(np.zeros(2048), np.eye(2048), 50_000).save(tmp_path / "stats.npz")
    config = tiny_config(tmp_path / "run", image_npz, fid_every=1000,
                         fid_stats=str(tmp_path / "stats.npz"))
    with pytest.raises(ValueError, match="stats.npz are 2048-dimensional but the features are "
                                         "6-dimensional"):
        train(config, features=mean_color_features)
    assert not list((tmp_path / "run" / "checkpoints").iterdir())


def test_a_corrupt_image_in_a_training_folder_is_named(tmp_path):
    folder = write_png_folder(tmp_path / "images", random_images(12, 16, 16))
    (folder / "00007.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    with pytest.raises(ValueError, match=f"cannot read image {folder / '00007.png'}: .* Remove or "
                                         f"replace it in the training folder {folder}"):
        train(tiny_config(tmp_path / "run", str(folder), model="dcgan", batch_size=12, steps=2))


@pytest.mark.parametrize("setting, message", [
    (dict(n_critic=0), "n_critic must be ≥ 1"),
    (dict(d_lr=0.0), "d_lr must be > 0"),
    (dict(g_beta2=1.0), r"g_beta2 must be in \[0, 1\)"),
    (dict(loss="softplus"), "loss must be one of"),
    (dict(lr=1e-4, d_lr=3e-4), "give lr"),
])
def test_out_of_range_settings_are_refused(tmp_path, image_npz, setting, message):
    with pytest.raises(ValueError, match=message):
        train(tiny_config(tmp_path / "run", image_npz, **setting))


@pytest.mark.parametrize("flagfile", sorted(CONFIGS.glob("*.flags")), ids=lambda p: p.name)
def test_every_flagfile_parses_into_a_valid_config(flagfile):
    config = config_from_flagfile(flagfile, logdir="/tmp/unused")
    config.validate()
    resolved = config.resolved()
    if flagfile.name.endswith("_ttur.flags"):
        assert resolved.d_lr != resolved.g_lr and resolved.n_critic == 1
    if flagfile.name.endswith("_orig.flags"):
        assert config.lr is not None and resolved.d_lr == resolved.g_lr


@pytest.mark.filterwarnings("ignore:only|the covariances")
def test_a_run_logs_every_asked_metric_and_its_best_from_the_same_samples(tmp_path, image_npz):
    config = tiny_config(tmp_path / "run", image_npz, fid_every=2, fid_num_samples=12,
                         fid_sample_batch_size=6, fid_batch_size=6, metrics="fid,kid,pr",
                         model="dcgan")  # the ResNet's run is the test above
    result = train(config, features=mean_color_features)
    tags = event_tags(config.logdir)
    for name in ("fid", "kid", "kid_std", "precision", "recall"):
        assert tags[name] == [2, 4], name
    for name in ("fid", "kid", "precision", "recall"):
        assert tags[f"best_{name}"] == [2, 4] and tags[f"best_{name}_step"] == [2, 4], name
    assert "inception_score" not in tags
    assert set(result.last_scores) == {"fid", "kid", "kid_std", "precision", "recall"}
    assert Statistics is not None and np.load(Path(config.logdir) / "reference_stats.npz")["features"].shape == (40, 6)
    # The best values are checkpointed: a resumed run keeps them.
    best = tf.train.load_checkpoint(str(Path(config.logdir) / "checkpoints"))
    names = [name for name in best.get_variable_to_shape_map() if name.startswith("best_scores")]
    assert len(names) == 2


def test_resuming_with_other_metrics_is_refused_with_the_difference(tmp_path, image_npz):
    # What a run leaves that the check reads: its config.json beside a checkpoint (the check
    # comes before any checkpoint is read, so the checkpoint's content does not matter here).
    first = tiny_config(tmp_path / "run", image_npz, steps=2).resolved()
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "ckpt-2.index").write_bytes(b"")
    (tmp_path / "run" / "config.json").write_text(first.to_json())
    with pytest.raises(Exception, match=r"metrics 'fid' \(now 'fid,kid'\)"):
        train(tiny_config(tmp_path / "run", image_npz, steps=4, metrics="fid,kid", fid_every=2))


def kid_adaptive_config(logdir, dataset, steps):
    # p-value level 1e-12: every test counts as no improvement; patience 1 and memory 1: from the
    # second evaluation on, every evaluation decays the learning rates.
    return tiny_config(logdir, dataset, steps=steps, fid_every=1, fid_num_samples=12,
                       fid_sample_batch_size=6, fid_batch_size=6, metrics="fid,kid",
                       lr_schedule="kid_adaptive", lr_test_samples=12, lr_test_memory=1,
                       lr_patience=1, lr_test_p_value=1e-12, checkpoint_every=1)


def learning_rates(logdir):
    reader = tf.train.load_checkpoint(str(Path(logdir) / "checkpoints"))
    rates = {}
    for name in reader.get_variable_to_shape_map():
        if "learning_rate" in name:
            rates[name.split("/")[0]] = float(reader.get_tensor(name))
    return rates


@pytest.mark.heavy
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:only|the covariances")
def test_kid_adaptive_schedule_decays_both_rates_logs_them_and_resumes(tmp_path, image_npz):
    # Evaluations at steps 1-4: the first fills the memory, each later one decays (3 decays). The
    # run stops after step 2 and resumes: had the schedule's memory been lost, step 3 would only
    # refill it and the run would end with 2 decays.
    train(kid_adaptive_config(tmp_path / "run", image_npz, steps=2), features=mean_color_features)
    train(kid_adaptive_config(tmp_path / "run", image_npz, steps=4), features=mean_color_features)
    tags = event_tags(tmp_path / "run")
    assert sorted(tags["d_lr"]) == sorted(tags["g_lr"]) == [1, 2, 3, 4]
    assert sorted(tags["lr_test_p_value"]) == [2, 3, 4]
    assert learning_rates(tmp_path / "run") == pytest.approx(
        {"d_optimizer": 3e-4 / 8, "g_optimizer": 1e-4 / 8})  # the TTUR ratio kept


def test_kid_adaptive_needs_kid_among_the_metrics(tmp_path, image_npz):
    with pytest.raises(ValueError, match="add kid to --metrics"):
        train(tiny_config(tmp_path / "run", image_npz, fid_every=1, lr_schedule="kid_adaptive"))
