"""SIGINT (Ctrl-C) and SIGTERM (preemption) lose nothing: a run stops at a step boundary with a
checkpoint and one line, an abandoned evaluation is done again on resume, and the resumed run
ends exactly where an uninterrupted one ends. Real signals, sent to this process or to a
training subprocess."""

import os
import random
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, random_images, run_script_in_process, write_png_folder
from ttur_tf.files import HOST
from test_language import language_config, tiny_corpus  # noqa: F401 (a fixture)
from ttur_tf.gan import GAN
from ttur_tf.interrupts import Interrupted, PendingEvaluations, StopRequests
from ttur_tf.training import train

pytestmark = pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                                reason="Python handles signals in the main thread only")


def checkpoint_tensors(logdir):
    """Every tensor of the latest checkpoint in ``logdir`` but the wall clock and the count of
    saves."""
    reader = tf.train.load_checkpoint(str(Path(logdir) / "checkpoints"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if not name.startswith(("_CHECKPOINTABLE_OBJECT_GRAPH", "elapsed_seconds",
                                    "save_counter"))}


def assert_same_tensors(actual, expected):
    assert actual.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def test_a_signal_is_held_until_the_step_boundary_and_a_second_one_stops_at_once():
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when started in the background by a shell
    with StopRequests() as requests:
        os.kill(os.getpid(), signal.SIGTERM)
        assert requests.requested  # recorded, work goes on
        assert signal.getsignal(signal.SIGINT) is signal.SIG_DFL  # the next one ends the process
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        with pytest.raises(Interrupted) as stopped:
            requests.check()
        assert stopped.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGINT) is before  # restored


def test_a_signal_inside_an_abortable_section_ends_it_at_once():
    with StopRequests() as requests:
        with pytest.raises(Interrupted):
            with requests.abortable():
                os.kill(os.getpid(), signal.SIGINT)
                pytest.fail("the section went on after the signal")


def test_pending_evaluations_are_kept_until_a_later_checkpoint(tmp_path):
    pending = PendingEvaluations(tmp_path / "pending.json")
    pending.add("JSD evaluation", 20)
    pending.add("image metrics", 20)
    assert pending.due("JSD evaluation", 20) and pending.due("image metrics", 20)
    assert not pending.due("JSD evaluation", 10)
    pending.settle(20)  # the checkpoint of the step itself: still due on resume
    assert pending.due("JSD evaluation", 20)
    pending.settle(21)
    assert not pending.due("JSD evaluation", 20) and not (tmp_path / "pending.json").exists()


def test_an_evaluation_abandoned_on_a_signal_is_done_again_on_resume(tmp_path, monkeypatch,
                                                                     tiny_corpus):
    settings = dict(steps=6, checkpoint_every=100, jsd_every=2, dim=8)
    uninterrupted = language_config(tmp_path / "a", tiny_corpus, **settings)
    train(uninterrupted)
    sample_batches = GAN.sample_batches

    def signal_in_the_evaluation_of_step_4(gan, *args):
        if int(gan.step.numpy()) == 4:
            os.kill(os.getpid(), signal.SIGTERM)
        return sample_batches(gan, *args)

    interrupted = language_config(tmp_path / "b", tiny_corpus, **settings)
    with monkeypatch.context() as patch:
        patch.setattr(GAN, "sample_batches", signal_in_the_evaluation_of_step_4)
        with pytest.raises(Interrupted) as stopped:
            train(interrupted)
    samples = Path(interrupted.logdir) / "samples"
    assert stopped.value.step == 4
    assert (Path(interrupted.logdir) / "checkpoints" / "ckpt-4.index").is_file()
    assert not (samples / "samples_4.txt").exists()
    assert train(interrupted).step == 6
    assert (samples / "samples_4.txt").read_text() == (
        Path(uninterrupted.logdir) / "samples" / "samples_4.txt").read_text()
    assert not (Path(interrupted.logdir) / "checkpoints" / "pending_evaluations.json").exists()
    assert_same_tensors(checkpoint_tensors(interrupted.logdir),
                        checkpoint_tensors(uninterrupted.logdir))


def training_command(corpus, logdir, steps):
    return [sys.executable, str(ROOT / "scripts" / "train_wgan_gp.py"), "--model=language",
            f"--dataset={corpus}", f"--logdir={logdir}", f"--steps={steps}", "--dim=8",
            "--seq_len=10", "--batch_size=16", "--log_every=1", "--checkpoint_every=1000",
            "--jsd_every=25", "--jsd_ngrams=2", "--jsd_num_batches=1"]


def run_to_the_end(command):
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT,
                              env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert finished.returncode == 0, finished.stderr


def interrupt_at(command, signum, step, while_running=lambda process: None):
    """Runs ``command``, calls ``while_running(process)`` and sends ``signum`` once it has
    logged ``step``; returns (exit status, stderr lines)."""
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               text=True, env=environment, cwd=ROOT)
    lines = []
    for line in process.stderr:
        lines.append(line.rstrip("\n"))
        logged = re.search(r"\] step (\d+): d_loss", line)
        if logged and int(logged[1]) >= step:
            while_running(process)
            process.send_signal(signum)
            break
    lines += process.stderr.read().splitlines()
    return process.wait(timeout=120), lines


def refused_while_locked(command, logdir):
    """Checks that ``command`` is refused on ``logdir`` while ``process`` holds it (paused, so
    that it cannot finish meanwhile)."""

    def check(process):
        process.send_signal(signal.SIGSTOP)
        try:
            second = subprocess.run(command, capture_output=True, text=True, timeout=300,
                                    cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        finally:
            process.send_signal(signal.SIGCONT)
        assert second.returncode == 1
        assert second.stderr.strip().splitlines()[-1].startswith(
            f"error: the log folder {logdir} is in use by process {process.pid} on host {HOST}")

    return check


def stop_at_a_random_step(command, logdir, signum):
    """Sends ``signum`` to a training process at a random step, while a second run on the same
    logdir is refused; checks the one line, the exit status and the checkpoint."""
    first_step = random.Random().randint(3, 60)
    status, lines = interrupt_at(command, signum, first_step,
                                 refused_while_locked(command, logdir))
    context = f"{signum.name} at step {first_step}:\n" + "\n".join(lines[-5:])
    assert status == 128 + signum, context
    stopped = re.fullmatch(r"interrupted at step (\d+): checkpoint saved; rerun the same "
                           r"command to resume", lines[-1])
    assert stopped and int(stopped[1]) >= first_step, context
    assert not any("Traceback" in line for line in lines), context
    assert (logdir / "checkpoints" / f"ckpt-{stopped[1]}.index").is_file()
    assert not (logdir / ".lock").exists()


@pytest.mark.slow
@pytest.mark.heavy  # CI: the same handling with real signals in this process (above)
def test_ctrl_c_stops_a_training_process_with_a_checkpoint_and_one_line(tmp_path, tiny_corpus):
    stop_at_a_random_step(training_command(tiny_corpus, tmp_path, 100), tmp_path, signal.SIGINT)


@pytest.mark.slow
@pytest.mark.heavy  # CI: exactness in this process, with a real SIGTERM (above)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_training_process_stopped_by_a_signal_resumes_exactly(tmp_path, tiny_corpus, signum):
    steps = 100
    run_to_the_end(training_command(tiny_corpus, tmp_path / "a", steps))
    command = training_command(tiny_corpus, tmp_path / "b", steps)
    stop_at_a_random_step(command, tmp_path / "b", signum)
    run_to_the_end(command)
    assert_same_tensors(checkpoint_tensors(tmp_path / "b"), checkpoint_tensors(tmp_path / "a"))


def test_precalc_stats_interrupted_writes_nothing_and_says_so_in_one_line(tmp_path,
                                                                          standin_features,
                                                                          monkeypatch):
    folder = write_png_folder(tmp_path / "images", random_images(6, 8, 8))
    out = tmp_path / "stats.npz"

    def interrupted_features(self, images):
        os.kill(os.getpid(), signal.SIGINT)
        return np.zeros((len(images), 2048), np.float32)

    monkeypatch.setattr(type(standin_features), "__call__", interrupted_features)
    status, stdout, stderr = run_script_in_process(
        "precalc_stats.py", f"--data={folder}", f"--out={out}",
        f"--inception_path={standin_features.graph_path}", "--batch_size=2")
    assert status == 130
    assert stderr.strip().splitlines() == [f"interrupted: nothing was written to {out}"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["images"]
