"""The training scripts as a user runs them.

Two runs go through a real ``python scripts/train_wgan_gp.py`` process: the smoke flagfile (the
image WGAN-GP on mock tfds CIFAR-10 with the 2048-d stand-in Inception graph, end to end) and the
README's main job (the quickstart). Everything else calls the script's own ``define_flags`` and
``main`` in this process: the same code without TensorFlow's start-up for each case.
"""

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from conftest import ROOT, run_script_in_process

SMOKE = ROOT / "configs" / "smoke_image.flags"
QUICKSTART = ROOT / "configs" / "quickstart.flags"

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


@pytest.mark.slow
def test_smoke_flagfile_trains_the_image_gan_with_fid_end_to_end(tmp_path, standin_graph_path):
    # In this process (the language quickstart below runs the script as a program).
    code, out, err = train_in_process(f"--flagfile={SMOKE}", f"--logdir={tmp_path}",
                                      f"--inception_path={standin_graph_path}", "--steps=2")
    assert code == 0, err
    assert {"d_loss", "g_loss", "gradient_penalty", "fid", "samples"} <= summary_tags(tmp_path)
    assert "done: step 2, last FID " in out
    assert (tmp_path / "checkpoints" / "ckpt-2.index").is_file()


@pytest.mark.slow
def test_quickstart_flagfile_trains_the_language_gan_a_few_steps(tmp_path):
    result = run_training("train_wgan_gp.py", f"--flagfile={QUICKSTART}", f"--logdir={tmp_path}",
                          "--steps=2", "--jsd_every=1", "--log_every=1", "--dim=8")
    assert result.returncode == 0, result.stderr
    assert "done: step 2, js1 " in result.stdout and "js6 " in result.stdout
    assert {"d_loss", "g_loss", "gradient_penalty", "js1", "js4", "js6"} <= summary_tags(tmp_path)
    samples = (tmp_path / "samples" / "samples_2.txt").read_text(encoding="utf-8").splitlines()
    header = f"the first 8 generated lines of {tmp_path / 'samples' / 'samples_2.txt'}:\n"
    printed = result.stdout.split(header, 1)[1]
    assert printed.splitlines() == ["    " + line for line in samples[:8]]
    assert (tmp_path / "charmap.json").is_file()


def train_in_process(*args, script="train_wgan_gp.py"):
    with tfds.testing.mock_data(num_examples=24):
        return run_script_in_process(script, *args)


@pytest.mark.slow
def test_rerunning_the_same_command_resumes(tmp_path, caplog):
    command = [f"--flagfile={QUICKSTART}", f"--logdir={tmp_path}", "--dim=8", "--jsd_every=0"]
    assert train_in_process(*command, "--steps=2")[0] == 0
    caplog.set_level("INFO")
    code, out, err = train_in_process(*command, "--steps=4")
    assert code == 0, err
    assert "ckpt-2 at step 2" in caplog.text
    assert "done: step 4" in out
    assert (tmp_path / "checkpoints" / "ckpt-4.index").is_file()


@pytest.mark.slow
def test_dcgan_script_runs_its_defaults_on_mock_data(tmp_path):
    code, out, err = train_in_process("--dataset=cifar10", f"--logdir={tmp_path}", "--dim=4",
                                      "--batch_size=4", "--steps=2", "--fid_every=0",
                                      script="train_dcgan.py")
    assert code == 0, err
    assert "done: step 2" in out
    assert '"d_beta1": 0.5' in (tmp_path / "config.json").read_text()


@pytest.mark.parametrize("arguments, message", [
    (["--dataset=/no/such/folder"], "error: dataset '/no/such/folder' is neither a folder"),
    (["--fid_stats=/no/such/stats.npz"], "error: FID statistics file /no/such/stats.npz does not exist"),
    (["--n_critic=0"], "flag --n_critic=0: n_critic must be ≥ 1, got 0"),
    (["--d_beta1=1.5"], "flag --d_beta1=1.5: d_beta1 must be in [0, 1), got 1.5"),
    (["--d_lr=0"], "flag --d_lr=0.0: d_lr must be > 0, got 0.0"),
    (["--lr=1e-4"], "error: give lr (0.0001: both networks) or d_lr and g_lr, not both"),
    (["--critic_head=original", "--batch_size=6"], "batch_size (6) must be a multiple of 4"),
    (["extra"], "unexpected arguments: extra"),
])
def test_bad_inputs_exit_non_zero_with_a_message(tmp_path, standin_graph_path, arguments, message):
    code, _, err = train_in_process(f"--flagfile={SMOKE}", f"--logdir={tmp_path}",
                                    f"--inception_path={standin_graph_path}", *arguments)
    assert code == 1
    assert message in err
    assert "Traceback" not in err


def test_an_image_folder_without_images_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = train_in_process(f"--flagfile={SMOKE}", f"--logdir={tmp_path / 'run'}",
                                    f"--dataset={tmp_path / 'empty'}")
    assert code == 1
    assert f"error: no image files in {tmp_path / 'empty'}" in err


@pytest.mark.parametrize("logdir, message", [
    ("{tmp}/a_file", "error: cannot write {tmp}/a_file: {tmp}/a_file is a file, not a folder"),
    ("{tmp}/a_file/run", "error: cannot write {tmp}/a_file/run: {tmp}/a_file is a file, not a folder"),
    ("{tmp}/run_with_samples_file", "error: cannot write {tmp}/run_with_samples_file/samples: "
                                    "{tmp}/run_with_samples_file/samples is a file, not a folder"),
])
def test_a_logdir_that_cannot_be_written_is_one_line_before_any_data_is_read(
        tmp_path, logdir, message, caplog):
    (tmp_path / "a_file").write_text("")
    (tmp_path / "run_with_samples_file").mkdir()
    (tmp_path / "run_with_samples_file" / "samples").write_text("")
    caplog.set_level("INFO")
    code, _, err = train_in_process(f"--flagfile={QUICKSTART}",
                                    f"--logdir={logdir.format(tmp=tmp_path)}")
    assert code == 1
    assert err.startswith(message.format(tmp=tmp_path))
    assert "lines of 32 characters" not in caplog.text  # the corpus was not read


@pytest.mark.parametrize("dataset, message", [
    ("{tmp}/no_such_corpus", "error: text source '{tmp}/no_such_corpus' does not exist"),
    ("{tmp}", "error: no One Billion Word shards in {tmp}"),
    ("{tmp}/empty.txt", "error: the text source '{tmp}/empty.txt' has no lines"),
    ("{tmp}/blank.txt", "error: the text source '{tmp}/blank.txt' has no text"),
    ("{tmp}/latin1.txt", "error: {tmp}/latin1.txt, line 1, is not valid utf-8"),
])
def test_bad_text_inputs_exit_non_zero_with_a_message(tmp_path, dataset, message):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.txt").write_text("\n \n")
    (tmp_path / "latin1.txt").write_bytes("caf\u00e9\n".encode("latin-1"))
    code, _, err = train_in_process(f"--flagfile={QUICKSTART}", f"--logdir={tmp_path / 'run'}",
                                    f"--dataset={dataset.format(tmp=tmp_path)}")
    assert code == 1
    assert message.format(tmp=tmp_path) in err
    assert "Traceback" not in err
