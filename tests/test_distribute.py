"""Training under tf.distribute equals training on one device with the same global batch.

Two replicas on two logical CPU devices (conftest.py) for MirroredStrategy; two worker processes
on loopback ports for MultiWorkerMirroredStrategy. The optimizers in the equality tests use Adam
with ε = 1 instead of the paper's 1e-8: with a tiny ε Adam's first steps move every weight by ±lr
whatever the size of its gradient, so the float noise of gradients that are exactly zero in
theory (conv biases in front of batch norm, ~1e-13) becomes lr-sized differences.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, TWO_DEVICES
from test_language import language_config, tiny_corpus  # noqa: F401 (fixture)
from test_training import network_state
from ttur_tf.distribute import (
    global_mean, is_chief, make_strategy, replica_batches, rows_of, scratch_folder,
)
from ttur_tf.gan import stack_critic_batches
from ttur_tf.training import TrainConfig, build_gan, train

GLOBAL_BATCH = 8


@pytest.fixture(autouse=True, scope="module")
def no_graph_optimisation():
    """Grappler takes a third of the time to build a mirrored train step and changes nothing
    these tests compare (both sides of each comparison run without it)."""
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    yield
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False})


def two_replicas():
    return make_strategy("mirrored", tuple(TWO_DEVICES.split(",")))


def trained(strategy, model, loss, n_critic, sync_batch_norm=True, steps=2,
            update_rule="alternating", resume_from=None, **settings):
    """A tiny GAN of ``model`` after ``steps`` steps on fixed data (from the start of the data,
    after restoring ``resume_from`` if given), and its logged metrics; ``settings``: more
    ``TrainConfig`` fields."""
    config = TrainConfig("unused", "unused", model=model, loss=loss, n_critic=n_critic, dim=4,
                         batch_size=GLOBAL_BATCH, seq_len=8, adam_epsilon=1.0,
                         sync_batch_norm=sync_batch_norm, update_rule=update_rule, **settings)
    rng = np.random.default_rng(0)
    if model == "language":
        data, sizes = tf.one_hot(rng.integers(0, 7, (64, 8)), 7), dict(vocab_size=7)
    else:
        data = rng.uniform(-1, 1, (64, 16, 16, 3)).astype(np.float32)
        sizes = dict(image_size=16)
    if settings.get("conditional"):  # three classes, drawn unevenly
        data = (data, rng.choice(3, 64, p=[0.5, 0.3, 0.2]).astype(np.int32))
        sizes.update(num_classes=3, class_frequencies=[0.5, 0.3, 0.2])
    keras.utils.set_random_seed(0)
    with strategy.scope():
        gan = build_gan(config, **sizes)
        if resume_from is not None:
            tf.train.Checkpoint(**gan.training_state).restore(resume_from).assert_consumed()

    def stream():
        batches = tf.data.Dataset.from_tensor_slices(data).batch(GLOBAL_BATCH, drop_remainder=True)
        return stack_critic_batches(batches.repeat(), n_critic)

    if not steps:
        return gan, {}
    history = gan.fit(replica_batches(strategy, rows_of(stream), GLOBAL_BATCH),
                      steps_per_epoch=steps, epochs=1, verbose=0).history
    return gan, history


def assert_close(actual, expected, name):
    """Equal up to float32 round-off after a few steps: 0.5% of each value, or 3e-6 (1% of one
    Adam step at the paper's 3e-4). A wrong split of the data, the noise or the loss scaling
    moves weights by whole updates; summing a gradient in two halves instead of one changes only
    its last bits, which for gradients that nearly cancel (biases under real minus fake scores)
    is a sizeable part of their small update."""
    np.testing.assert_allclose(actual, expected, rtol=5e-3, atol=3e-6, err_msg=name)


def assert_same_weights(expected, actual):
    for variable, other in zip(expected.weights, actual.weights):
        assert_close(other.numpy(), variable.numpy(), variable.path)


def assert_same_changes(changes):
    """For each (name, start, expected, actual) array: what training changed from ``start`` is
    the same in ``expected`` and ``actual``, to 1% of its largest change. At ε = 1 the changes
    are far below assert_close's atol, and a weight of 0.02 holds a change of 1e-8 to a few
    float32 ulps. Biases in front of batch norm have no gradient in theory: their ~1e-14 changes
    are round-off, not compared."""
    changes = list(changes)
    assert changes, "nothing to compare"
    compared = 0
    for name, start, expected, actual in changes:
        change, other = expected - start, actual - start
        if np.abs(change).max() < 1e-10:
            continue
        np.testing.assert_allclose(other, change, rtol=1e-2, atol=1e-2 * np.abs(change).max(),
                                   err_msg=name)
        compared += 1
    assert compared >= len(changes) // 2


def assert_same_updates(start, expected, actual):
    """``assert_same_changes`` for the trainable weights of three GANs."""
    assert_same_changes(
        (one.path, begin.numpy(), one.numpy(), two.numpy()) for begin, one, two in zip(
            start.trainable_weights, expected.trainable_weights, actual.trainable_weights))


# 1 and 5 critic updates of each model: the DCGAN (batch norm), the language model and the image
# ResNet (gradient penalty, the image layout). The 5-update and ResNet runs cost half a minute to
# minutes each (building their graphs for two replicas): they are ``heavy`` (TTUR_HEAVY_TESTS=1).
@pytest.mark.parametrize("model, loss, n_critic", [
    ("dcgan", "dcgan", 1),
    pytest.param("language", "wgan-gp", 1, marks=[pytest.mark.slow, pytest.mark.heavy]),
    pytest.param("resnet", "wgan-gp", 1, marks=[pytest.mark.slow, pytest.mark.heavy]),
    pytest.param("resnet", "wgan-gp", 5, marks=[pytest.mark.slow, pytest.mark.heavy]),
    pytest.param("dcgan", "dcgan", 5, marks=[pytest.mark.slow, pytest.mark.heavy]),
    pytest.param("language", "wgan-gp", 5, marks=[pytest.mark.slow, pytest.mark.heavy]),
])
def test_two_replicas_compute_what_one_device_computes_with_the_same_global_batch(
        model, loss, n_critic):
    one, one_history = trained(tf.distribute.get_strategy(), model, loss, n_critic)
    two, two_history = trained(two_replicas(), model, loss, n_critic)
    for name, values in one_history.items():
        np.testing.assert_allclose(two_history[name], values, rtol=1e-4, err_msg=name)
    assert_same_weights(one, two)
    assert_same_updates(trained(tf.distribute.get_strategy(), model, loss, n_critic, steps=0)[0],
                        one, two)
    assert int(two.step.numpy()) == 2  # once per step, not once per replica
    assert int(two.d_optimizer.iterations.numpy()) == 2 * n_critic
    assert int(two.g_optimizer.iterations.numpy()) == 1  # the first step trains the critic only


# The parts after the paper: SNGAN's spectral norm (u written once per training call, the first
# replica's value kept) and hinge loss, BigGAN's orthogonal regularization (each replica adds its
# share of the penalty), the generator's average (the first replica's value kept), DiffAugment
# (each replica its rows of one global draw) and class-conditional SNGAN (each replica generates
# the classes of its rows of the real batch). Heavy:
# building SNGAN for two replicas takes half a minute.
@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.parametrize("model, loss, settings", [
    ("sngan", "hinge", dict(spectral_norm="discriminator")),
    ("sngan", "hinge", dict(spectral_norm="discriminator", conditional=True)),
    ("dcgan", "dcgan", dict(ortho_reg=0.1, orthogonal_init=True)),
    ("dcgan", "dcgan", dict(ema_decay=0.5)),
    ("dcgan", "dcgan", dict(diffaugment="color,translation,cutout")),
])
def test_two_replicas_train_the_later_parts_as_one_device_does(model, loss, settings):
    one, one_history = trained(tf.distribute.get_strategy(), model, loss, 1, **settings)
    two, two_history = trained(two_replicas(), model, loss, 1, **settings)
    for name, values in one_history.items():
        np.testing.assert_allclose(two_history[name], values, rtol=1e-4, err_msg=name)
    assert_same_weights(one, two)  # spectral norm's u included
    if one.generator_average is not None:
        for expected, actual in zip(one.generator_average.averages,
                                    two.generator_average.averages):
            assert_close(actual.numpy(), expected.numpy(), expected.name)


# Extragradient restores both networks after its extrapolation on every replica; optimistic
# remembers the whole batch's gradients (the sum of the replicas' shares). Three steps, so that
# both players' updates use a remembered gradient (the generator skips its first update).
@pytest.mark.slow
@pytest.mark.parametrize("update_rule", [
    pytest.param("extragradient", marks=pytest.mark.heavy),
    pytest.param("optimistic", marks=pytest.mark.heavy),  # CI: its resume on two replicas below
])
def test_two_replicas_follow_the_extrapolating_rules_as_one_device_does(update_rule):
    one, one_history = trained(tf.distribute.get_strategy(), "dcgan", "dcgan", 1, steps=3,
                               update_rule=update_rule)
    two, two_history = trained(two_replicas(), "dcgan", "dcgan", 1, steps=3,
                               update_rule=update_rule)
    for name, values in one_history.items():
        np.testing.assert_allclose(two_history[name], values, rtol=1e-4, err_msg=name)
    start, _ = trained(tf.distribute.get_strategy(), "dcgan", "dcgan", 1, steps=0,
                       update_rule=update_rule)
    assert_same_updates(start, one, two)
    for name, variable in one.update_rule_state.items():
        assert_close(two.update_rule_state[name].numpy(), variable.numpy(), name)


@pytest.mark.slow
@pytest.mark.heavy  # in CI: the optimistic rule on two replicas above, and resumes on one
def test_an_optimistic_checkpoint_resumes_on_two_replicas_as_on_one_device(tmp_path):
    first, _ = trained(tf.distribute.get_strategy(), "dcgan", "dcgan", 1, steps=2,
                       update_rule="optimistic")
    saved = tf.train.Checkpoint(**first.training_state).save(str(tmp_path / "ckpt"))
    on_one, _ = trained(tf.distribute.get_strategy(), "dcgan", "dcgan", 1, steps=1,
                        update_rule="optimistic", resume_from=saved)
    on_two, _ = trained(two_replicas(), "dcgan", "dcgan", 1, steps=1, update_rule="optimistic",
                        resume_from=saved)
    assert_same_updates(first, on_one, on_two)


@pytest.mark.slow
def test_batch_norm_per_replica_uses_each_replicas_own_statistics():
    one, _ = trained(tf.distribute.get_strategy(), "dcgan", "dcgan", 1, sync_batch_norm=False,
                     steps=1)
    two, _ = trained(two_replicas(), "dcgan", "dcgan", 1, sync_batch_norm=False, steps=1)
    moving_mean = one.generator.get_layer("h1_bn").moving_mean
    assert not np.allclose(two.generator.get_layer("h1_bn").moving_mean.numpy(),
                           moving_mean.numpy(), rtol=1e-4, atol=1e-6)


def test_each_replica_draws_its_rows_of_the_one_device_noise_and_means_are_global():
    strategy = two_replicas()
    config = TrainConfig("unused", "unused", dim=4, batch_size=GLOBAL_BATCH)
    with strategy.scope():
        gan = build_gan(config, image_size=16)

    @tf.function
    def per_replica():
        def draw():
            noise = gan.sample_noise(GLOBAL_BATCH // 2, draw=3)
            return noise, global_mean(noise[:, 0])
        return strategy.run(draw)

    noise, means = per_replica()
    rows = np.concatenate([part.numpy() for part in strategy.experimental_local_results(noise)])
    expected = gan.sample_noise(GLOBAL_BATCH, draw=3).numpy()  # one device: every row
    np.testing.assert_array_equal(rows, expected)
    shares = [float(part) for part in strategy.experimental_local_results(means)]
    assert sum(shares) == pytest.approx(float(expected[:, 0].mean()), rel=1e-6)


def test_a_global_batch_that_the_replicas_cannot_share_is_refused():
    with pytest.raises(ValueError, match=r"batch_size \(7\) must be a multiple of the number "
                                         r"of replicas \(2\)"):
        replica_batches(two_replicas(), lambda rows: None, 7)


@pytest.mark.heavy
@pytest.mark.slow
def test_checkpoints_restore_with_any_number_of_replicas(tmp_path, tiny_corpus):  # noqa: F811
    settings = dict(jsd_every=0, batch_size=GLOBAL_BATCH, checkpoint_every=1)
    two = dict(strategy="mirrored", devices=TWO_DEVICES)
    train(language_config(tmp_path / "one", tiny_corpus, steps=1, **settings))
    shutil.copytree(tmp_path / "one", tmp_path / "one_then_two")
    train(language_config(tmp_path / "one", tiny_corpus, steps=2, **settings))  # uninterrupted
    train(language_config(tmp_path / "one_then_two", tiny_corpus, steps=2, **settings, **two))
    train(language_config(tmp_path / "two_then_one", tiny_corpus, steps=1, **settings, **two))
    train(language_config(tmp_path / "two_then_one", tiny_corpus, steps=2, **settings))
    expected = network_state(tmp_path / "one", None)
    for name in ("one_then_two", "two_then_one"):
        resumed = network_state(tmp_path / name, None)
        for variable in expected:
            assert_close(resumed[variable], expected[variable], f"{name}: {variable}")


# --- several hosts ------------------------------------------------------------------------------

def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def run_workers(logdir, corpus, steps):
    """Two worker processes of one multi-worker run (the quickstart's language GAN, tiny, with the
    learning rates the one-device run of the test is given, whatever the quickstart's tuning)."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    command = [sys.executable, ROOT / "scripts" / "train_wgan_gp.py",
               f"--flagfile={ROOT / 'configs' / 'quickstart.flags'}", f"--logdir={logdir}",
               f"--dataset={corpus}", "--seq_len=10", "--dim=8", "--jsd_every=0",
               f"--batch_size={GLOBAL_BATCH}", f"--steps={steps}", "--checkpoint_every=2",
               "--d_lr=1e-3", "--g_lr=3e-4", "--adam_epsilon=1", "--strategy=multi_worker"]
    workers = []
    for index in range(2):
        environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen(list(map(str, command)), env=environment, cwd=ROOT,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True))
    outputs = [worker.communicate(timeout=600) for worker in workers]
    for worker, (out, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-3000:]
    return outputs


@pytest.mark.heavy
@pytest.mark.slow
def test_two_workers_train_write_one_run_and_resume_like_one_device(tmp_path, tiny_corpus):  # noqa: F811
    logdir = tmp_path / "workers"
    run_workers(logdir, tiny_corpus, steps=2)
    outputs = run_workers(logdir, tiny_corpus, steps=4)  # the same command again: resumes
    assert all("done: step 4" in out for out, _ in outputs)
    assert "ckpt-2 at step 2" in outputs[0][1] and "ckpt-2 at step 2" in outputs[1][1]
    checkpoints = logdir / "checkpoints"
    assert sorted(path.name for path in checkpoints.iterdir()) == [
        "checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index",
        "ckpt-4.data-00000-of-00001", "ckpt-4.index"]  # the chief's only; no worker scratch
    assert len(list(logdir.glob("events.out.tfevents.*"))) == 2  # one per run, the chief's
    single = language_config(tmp_path / "one", tiny_corpus, steps=4, jsd_every=0, dim=8,
                             batch_size=GLOBAL_BATCH, checkpoint_every=2, d_lr=1e-3, g_lr=3e-4,
                             adam_epsilon=1.0)
    train(single)
    expected, workers = network_state(tmp_path / "one", None), network_state(logdir, None)
    for variable in expected:
        assert_close(workers[variable], expected[variable], variable)
    start = tf.train.load_checkpoint(str(tmp_path / "one" / "checkpoints" / "ckpt-2"))
    assert_same_changes((name, start.get_tensor(name), expected[name], workers[name])
                        for name in expected if "/_trainable_variables/" in name)  # the weights


@pytest.mark.heavy
@pytest.mark.slow
def test_a_signal_to_one_worker_stops_every_worker_at_the_same_step(tmp_path, tiny_corpus):  # noqa: F811
    """SIGTERM to the second worker only (a preempted VM): both save the same step and say so;
    the same command resumes both, and the run ends where one device ends."""
    logdir, steps = tmp_path / "workers", 60
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    command = [sys.executable, ROOT / "scripts" / "train_wgan_gp.py",
               f"--flagfile={ROOT / 'configs' / 'quickstart.flags'}", f"--logdir={logdir}",
               f"--dataset={tiny_corpus}", "--seq_len=10", "--dim=8", "--jsd_every=0",
               f"--batch_size={GLOBAL_BATCH}", f"--steps={steps}", "--checkpoint_every=1000",
               "--log_every=1", "--d_lr=1e-3", "--g_lr=3e-4", "--adam_epsilon=1",
               "--strategy=multi_worker"]
    # TensorFlow asks a cloud metadata server whether it runs on one: keep that on loopback.
    metadata = f"127.0.0.1:{free_ports(1)[0]}"

    def start(index):
        environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", GCE_METADATA_IP=metadata,
                           TF_CONFIG=json.dumps({"cluster": cluster,
                                                 "task": {"type": "worker", "index": index}}))
        return subprocess.Popen(list(map(str, command)), env=environment, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    workers = [start(0), start(1)]
    signal_step = random.Random().randint(5, 30)
    for line in workers[1].stderr:
        logged = re.search(r"\] step (\d+): d_loss", line)
        if logged and int(logged[1]) >= signal_step:
            workers[1].send_signal(signal.SIGTERM)
            break
    outputs = [worker.communicate(timeout=600) for worker in workers]
    stopped = []
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 143, err[-3000:]
        last = err.strip().splitlines()[-1]
        match = re.fullmatch(r"interrupted at step (\d+): checkpoint saved; rerun the same "
                             r"command to resume", last)
        assert match, last
        stopped.append(int(match[1]))
    assert stopped[0] == stopped[1] >= signal_step, stopped
    assert (logdir / "checkpoints" / f"ckpt-{stopped[0]}.index").is_file()
    workers = [start(0), start(1)]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs[0][1][-3000:]
    assert all(f"done: step {steps}" in out for out, _ in outputs)
    single = language_config(tmp_path / "one", tiny_corpus, steps=steps, jsd_every=0, dim=8,
                             batch_size=GLOBAL_BATCH, checkpoint_every=1000, d_lr=1e-3,
                             g_lr=3e-4, adam_epsilon=1.0)
    train(single)
    expected, resumed = network_state(tmp_path / "one", None), network_state(logdir, None)
    for variable in expected:
        if not variable.startswith("save_counter"):  # one save more: the interruption's
            assert_close(resumed[variable], expected[variable], variable)


def test_a_multi_worker_run_without_a_cluster_says_what_to_do(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match=r"needs the cluster in \$TF_CONFIG"):
        make_strategy("multi_worker")


def test_devices_belong_to_the_mirrored_strategy():
    with pytest.raises(ValueError, match="devices are chosen for strategy=mirrored only"):
        make_strategy("default", ("/cpu:0",))


def test_no_tpu_is_a_clear_error():
    with pytest.raises(ValueError, match="strategy=tpu: no TPU to connect to"):
        make_strategy("tpu", tpu="no-such-tpu")


@pytest.mark.parametrize("cluster, task, chief", [
    ({"worker": ["a:1", "b:1"]}, ("worker", 0), True),
    ({"worker": ["a:1", "b:1"]}, ("worker", 1), False),
    ({"chief": ["c:1"], "worker": ["a:1"]}, ("chief", 0), True),
    ({"chief": ["c:1"], "worker": ["a:1"]}, ("worker", 0), False),
])
def test_only_the_chief_writes_and_the_others_save_to_a_scratch_folder(cluster, task, chief):
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task[0], task_id=task[1])
    strategy = SimpleNamespace(cluster_resolver=resolver)
    assert is_chief(strategy) is chief
    scratch = scratch_folder(strategy, "run/checkpoints")
    assert scratch == (None if chief else Path(f"run/checkpoints/.worker-{task[1]}"))
    assert is_chief(tf.distribute.get_strategy())  # one process: it writes
