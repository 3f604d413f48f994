"""The training scripts as a user runs them: the smoke flagfile on mock tfds data with the stand-in
Inception graph, re-running to resume, and bad inputs (a message and a non-zero exit)."""

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]

# Runs a script inside tfds.testing.mock_data, so that `--dataset=cifar10` needs no download.
_UNDER_MOCK_TFDS = """
import runpy, sys
import tensorflow_datasets as tfds
script, *arguments = sys.argv[1:]
with tfds.testing.mock_data(num_examples=24):
    sys.argv = [script, *arguments]
    runpy.run_path(script, run_name="__main__")
"""


def run_training(script, *args):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-c", _UNDER_MOCK_TFDS, str(ROOT / "scripts" / script), *map(str, args)],
        capture_output=True, text=True, timeout=600, env=environment, cwd=ROOT,
    )


def summary_tags(logdir):
    tags = set()
    for path in glob.glob(str(Path(logdir) / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_smoke_flagfile_trains_logs_and_resumes_when_rerun(tmp_path, standin_graph_path):
    command = ["train_wgan_gp.py", "--flagfile=configs/smoke_image.flags", f"--logdir={tmp_path}",
               f"--inception_path={standin_graph_path}"]
    first = run_training(*command, "--steps=2")
    assert first.returncode == 0, first.stderr
    assert {"d_loss", "g_loss", "gradient_penalty", "fid", "samples"} <= summary_tags(tmp_path)
    second = run_training(*command)  # the flagfile's 4 steps: resumes at step 2
    assert second.returncode == 0, second.stderr
    assert "resumed from" in second.stderr and "ckpt-2 at step 2" in second.stderr
    assert "done: step 4" in second.stdout
    assert (tmp_path / "checkpoints" / "ckpt-4.index").is_file()


def test_dcgan_script_runs_its_defaults_on_mock_data(tmp_path):
    result = run_training("train_dcgan.py", "--dataset=cifar10", f"--logdir={tmp_path}",
                          "--dim=4", "--batch_size=4", "--steps=2", "--fid_every=0")
    assert result.returncode == 0, result.stderr
    assert "done: step 2" in result.stdout


@pytest.mark.parametrize("arguments, message", [
    (["--dataset=/no/such/folder"], "error: dataset '/no/such/folder' is neither a folder"),
    (["--fid_stats=/no/such/stats.npz"], "error: FID statistics file /no/such/stats.npz does not exist"),
    (["--n_critic=0"], "--n_critic=0"),
    (["--d_beta1=1.5"], "--d_beta1=1.5"),
])
def test_bad_inputs_exit_non_zero_with_a_message(tmp_path, standin_graph_path, arguments, message):
    result = run_training("train_wgan_gp.py", "--flagfile=configs/smoke_image.flags",
                          f"--logdir={tmp_path}", f"--inception_path={standin_graph_path}", *arguments)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_image_folder_without_images_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_training("train_wgan_gp.py", "--flagfile=configs/smoke_image.flags",
                          f"--logdir={tmp_path / 'run'}", f"--dataset={tmp_path / 'empty'}")
    assert result.returncode == 1
    assert f"error: no image files in {tmp_path / 'empty'}" in result.stderr


def test_quickstart_flagfile_trains_the_language_gan_a_few_steps(tmp_path):
    result = run_training("train_wgan_gp.py", "--flagfile=configs/quickstart.flags",
                          f"--logdir={tmp_path}", "--steps=2", "--jsd_every=1", "--log_every=1",
                          "--dim=8")
    assert result.returncode == 0, result.stderr
    assert "done: step 2, js1 " in result.stdout and "js6 " in result.stdout
    assert {"d_loss", "g_loss", "gradient_penalty", "js1", "js4", "js6"} <= summary_tags(tmp_path)
    assert (tmp_path / "samples" / "samples_2.txt").is_file()
    assert (tmp_path / "charmap.json").is_file()


@pytest.mark.parametrize("dataset, message", [
    ("{tmp}/no_such_corpus", "error: text source '{tmp}/no_such_corpus' does not exist"),
    ("{tmp}", "error: no One Billion Word shards in {tmp}"),
    ("{tmp}/empty.txt", "error: the text source '{tmp}/empty.txt' has no lines"),
])
def test_bad_text_inputs_exit_non_zero_with_a_message(tmp_path, dataset, message):
    (tmp_path / "empty.txt").write_text("")
    result = run_training("train_wgan_gp.py", "--flagfile=configs/quickstart.flags",
                          f"--logdir={tmp_path / 'run'}", f"--dataset={dataset.format(tmp=tmp_path)}")
    assert result.returncode == 1
    assert message.format(tmp=tmp_path) in result.stderr
    assert "Traceback" not in result.stderr
