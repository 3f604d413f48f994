"""Multi-seed sweeps: seeds, reading logged scalars back (also across a resume), the mean and
min/max bands, and scripts/sweep.py on a fake trainer that logs known values (and stops on a
signal, as the real one does)."""

import csv
import json
import os
import signal
import textwrap
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, run_script_in_process, script_module
from test_run_lock import hold_lock
from ttur_tf.sweep import bands, runs
from ttur_tf.sweep.runs import default_trainer
from ttur_tf.sweep.event_scalars import Series, read_scalars


@pytest.mark.parametrize("text, seeds", [
    ("0-9", list(range(10))), ("3", [3]), ("0,2,5", [0, 2, 5]), ("0-2,7", [0, 1, 2, 7]),
    ("1-2,2", [1, 2]),
])
def test_seeds_are_parsed_from_ranges_and_lists(text, seeds):
    assert runs.parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a", "3-1", "-1", "0-"])
def test_malformed_seeds_are_refused_with_the_accepted_forms(text):
    with pytest.raises(ValueError, match="e.g. 0-9"):
        runs.parse_seeds(text)


def test_the_scripts_flagfiles_name_settings_and_are_not_read_as_its_flags():
    convert = script_module("sweep.py").flagfiles_as_settings
    assert convert(["sweep.py", "--flagfile=a.flags", "--flagfile", "b.flags", "--seeds=0-1"]) == [
        "sweep.py", "--setting=a.flags", "--setting=b.flags", "--seeds=0-1"]


def test_each_setting_is_trained_by_the_script_whose_defaults_its_model_needs(tmp_path):
    scripts = ROOT / "scripts"
    (tmp_path / "dcgan.flags").write_text("# DCGAN\n--model=dcgan\n--d_lr=1e-4\n")
    (tmp_path / "language.flags").write_text("--model=language\n")
    assert default_trainer(tmp_path / "dcgan.flags", scripts) == scripts / "train_dcgan.py"
    assert default_trainer(tmp_path / "language.flags", scripts) == scripts / "train_wgan_gp.py"
    assert default_trainer(ROOT / "configs" / "dcgan_cifar10_ttur.flags",
                           scripts).name == "train_dcgan.py"


def test_scalars_are_read_back_and_a_resumed_runs_rewritten_steps_replace_the_old_ones(tmp_path):
    first = tf.summary.create_file_writer(str(tmp_path))
    with first.as_default():
        for step in (0, 10, 20, 30):
            tf.summary.scalar("js4", 1.0 - step / 100, step=step)
        tf.summary.text("samples", "some text", step=10)
        tf.summary.image("grid", np.zeros((1, 2, 2, 3)), step=10)
    first.close()
    resumed = tf.summary.create_file_writer(str(tmp_path))  # resumed from the step-10 checkpoint
    with resumed.as_default():
        for step in (20, 30, 40):
            tf.summary.scalar("js4", 0.5 - step / 1000, step=step)
    resumed.close()
    scalars = read_scalars(tmp_path)
    assert set(scalars) == {"js4"}
    np.testing.assert_array_equal(scalars["js4"].steps, [0, 10, 20, 30, 40])
    np.testing.assert_allclose(scalars["js4"].values, [1.0, 0.9, 0.48, 0.47, 0.46], rtol=1e-6)


def test_a_run_killed_while_writing_is_read_up_to_its_truncated_record(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step in (0, 10, 20):
            tf.summary.scalar("js4", 1.0 - step / 100, step=step)
    writer.close()
    (events,) = tmp_path.glob("events.out.tfevents.*")
    events.write_bytes(events.read_bytes()[:-5])  # the step-20 record cut short
    scalars = read_scalars(tmp_path)
    np.testing.assert_array_equal(scalars["js4"].steps, [0, 10])


def test_a_folder_without_events_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no TensorBoard event file"):
        read_scalars(tmp_path)


def series(steps, values):
    return Series(np.array(steps), np.array(values, dtype=float))


def test_the_band_is_the_mean_min_and_max_at_the_steps_every_run_logged():
    runs_ = [
        {"js4": series([0, 10, 20], [1.0, 0.6, 0.5]),
         "elapsed_seconds": series([10, 20], [4.0, 8.0])},
        {"js4": series([0, 10, 20, 30], [1.0, 0.8, 0.3, 0.2]),
         "elapsed_seconds": series([10, 20, 30], [6.0, 12.0, 18.0])},
    ]
    band = bands.band(runs_, "js4")
    np.testing.assert_array_equal(band.steps, [0, 10, 20])  # step 30: only one run reached it
    np.testing.assert_allclose(band.mean, [1.0, 0.7, 0.4])
    np.testing.assert_allclose(band.low, [1.0, 0.6, 0.3])
    np.testing.assert_allclose(band.high, [1.0, 0.8, 0.5])
    np.testing.assert_allclose(band.seconds, [0.0, 5.0, 10.0])  # from 0 s at step 0
    assert band.runs == 2
    assert bands.band(runs_, "fid") is None


def test_each_runs_best_is_its_lowest_value_or_highest_for_scores_where_higher_is_better():
    runs_ = [{"fid": series([0, 1, 2], [50, 30, 40]), "inception_score": series([0, 1], [2, 3])},
             {"fid": series([0, 1, 2], [60, np.nan, 20]), "inception_score": series([0, 1], [5, 4])}]
    fid = bands.best_of_runs(runs_, "fid")
    np.testing.assert_array_equal(fid.best, [30, 20])
    np.testing.assert_array_equal(fid.last, [40, 20])
    assert fid.describe() == "25 [20, 30]"
    np.testing.assert_array_equal(bands.best_of_runs(runs_, "inception_score").best, [3, 5])


def test_figures_are_made_for_logged_metrics_but_not_for_the_clock_or_running_bests():
    runs_ = [{"js4": None, "best_js4": None, "elapsed_seconds": None},
             {"d_loss": None, "best_js4_step": None}]
    assert bands.plotted_tags(runs_) == ["d_loss", "js4"]


FAKE_TRAINER = textwrap.dedent('''
    """Logs js4 = 1/(1 + step/10) + seed/100 and its wall clock at steps 0, 10, …, --steps."""
    import sys
    from pathlib import Path

    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.record_writer import RecordWriter  # no TensorFlow import

    arguments = dict(argument[2:].split("=", 1) for argument in sys.argv[1:])
    settings = dict(line.strip()[2:].split("=", 1) for line in open(arguments["flagfile"])
                    if line.strip().startswith("--"))
    settings.update(arguments)
    logdir = Path(settings["logdir"])
    with open(Path(__file__).parent / "calls.txt", "a") as calls:
        calls.write(" ".join(sys.argv[1:]) + "\\n")
    if settings.get("fail"):
        print("the loss became NaN at step 5")
        sys.exit(1)
    logdir.mkdir(parents=True, exist_ok=True)
    if settings.get("wait_for_signal"):  # as the real trainer: stop on a signal, say which
        import signal

        def stop(signum, frame):
            (logdir / "stopped_by.txt").write_text(str(signum))
            sys.exit(128 + signum)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        (logdir / "waiting").touch()
        signal.pause()
    seed, slope = int(settings["seed"]), float(settings.get("slope", "1"))
    with open(logdir / "events.out.tfevents.0.fake", "wb") as file:
        writer = RecordWriter(file)
        for step in range(0, int(settings["steps"]) + 1, 10):
            values = [Summary.Value(tag="js4", simple_value=1 / (1 + slope * step / 10) + seed / 100),
                      Summary.Value(tag="elapsed_seconds", simple_value=step * (1 + seed))]
            event = Event(step=step, wall_time=float(step), summary=Summary(value=values))
            writer.write(event.SerializeToString())
''')


def test_parallel_runs_share_the_cores_unless_the_environment_sizes_the_thread_pools(monkeypatch):
    monkeypatch.setattr(runs.os, "cpu_count", lambda: 8)
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    assert "TF_NUM_INTRAOP_THREADS" not in runs._threads_per_run(1)
    shared = runs._threads_per_run(3)
    assert shared["TF_NUM_INTRAOP_THREADS"] == shared["TF_NUM_INTEROP_THREADS"] == "2"
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "4")
    assert runs._threads_per_run(3)["TF_NUM_INTRAOP_THREADS"] == "4"


@pytest.fixture
def sweep_files(tmp_path):
    (tmp_path / "fake_trainer.py").write_text(FAKE_TRAINER)
    (tmp_path / "ttur.flags").write_text("--slope=2\n--steps=50\n")
    (tmp_path / "orig.flags").write_text("--slope=1\n--steps=50\n")
    return tmp_path


def run_sweep(folder, *arguments):
    return run_script_in_process(
        "sweep.py", f"--setting={folder / 'ttur.flags'}", f"--setting={folder / 'orig.flags'}",
        f"--trainer={folder / 'fake_trainer.py'}", f"--out_dir={folder / 'sweep'}", *arguments)


def calls(folder):
    return (folder / "calls.txt").read_text().splitlines()


def read_csv(path):
    with open(path) as file:
        return list(csv.DictReader(file))


def test_a_sweep_runs_every_setting_and_seed_and_reports_mean_and_band(sweep_files):
    code, out, err = run_sweep(sweep_files, "--seeds=0-2", "--parallel=2",
                               "--train_arg=--steps=30")
    assert code == 0, err
    made = calls(sweep_files)
    assert len(made) == 6
    for setting in ("ttur", "orig"):
        for seed in range(3):
            logdir = sweep_files / "sweep" / setting / f"seed_{seed}"
            assert (f"--flagfile={sweep_files / (setting + '.flags')} --steps=30 --seed={seed} "
                    f"--logdir={logdir}") in made
            assert json.loads((logdir / "sweep_run.json").read_text())["command"][-1] == (
                f"--logdir={logdir}")
    rows = [row for row in read_csv(sweep_files / "sweep" / "curves.csv") if row["metric"] == "js4"]
    assert [row["step"] for row in rows if row["setting"] == "ttur"] == ["0", "10", "20", "30"]
    at_10 = next(row for row in rows if row["setting"] == "ttur" and row["step"] == "10")
    assert float(at_10["mean"]) == pytest.approx(1 / 3 + 0.01)  # seeds 0, 1, 2 add 0.00…0.02
    assert float(at_10["min"]) == pytest.approx(1 / 3) and float(at_10["max"]) == pytest.approx(1 / 3 + 0.02)
    assert float(at_10["seconds"]) == pytest.approx(20.0) and at_10["runs"] == "3"
    summary = {row["setting"]: row for row in read_csv(sweep_files / "sweep" / "summary.csv")}
    assert float(summary["ttur"]["best_mean"]) == pytest.approx(1 / 7 + 0.01)  # at step 30
    assert float(summary["orig"]["best_max"]) == pytest.approx(1 / 4 + 0.02)
    assert (sweep_files / "sweep" / "js4.png").read_bytes()[:4] == b"\x89PNG"
    assert "ttur" in out and "0.1529 [0.1429, 0.1629]" in out


def test_a_rerun_skips_finished_runs_and_reruns_a_setting_whose_flagfile_changed(sweep_files):
    assert run_sweep(sweep_files, "--seeds=0-1")[0] == 0
    code, out, _ = run_sweep(sweep_files, "--seeds=0-1")
    assert code == 0 and "4 runs: 4 finished before (skipped), 0 to run" in out
    assert len(calls(sweep_files)) == 4
    (sweep_files / "orig.flags").write_text("--slope=1\n--steps=60\n")
    code, out, _ = run_sweep(sweep_files, "--seeds=0-1")
    assert code == 0 and "2 finished before (skipped), 2 to run" in out
    assert len(calls(sweep_files)) == 6


def test_a_failed_run_is_named_with_its_log_and_the_others_are_still_reported(sweep_files):
    (sweep_files / "orig.flags").write_text("--fail=1\n--steps=20\n")
    code, out, err = run_sweep(sweep_files, "--seeds=0")
    assert code == 1
    assert "orig seed 0: failed" in err and "train.log" in err
    assert "the loss became NaN at step 5" in err and "rerun the same command" in err
    assert "ttur" in out and (sweep_files / "sweep" / "js4.png").is_file()
    assert not (sweep_files / "sweep" / "orig" / "seed_0" / "sweep_run.json").exists()


def test_report_only_trains_nothing(sweep_files):
    assert run_sweep(sweep_files, "--seeds=0")[0] == 0
    code, out, err = run_sweep(sweep_files, "--seeds=0-1", "--report_only")
    assert code == 0 and len(calls(sweep_files)) == 2
    assert "2 of 4 runs are not in the report" in err


@pytest.mark.parametrize("arguments, message", [
    (["--setting=missing.flags"], "missing.flags does not exist"),
    (["--seeds=x"], "e.g. 0-9"),
    (["--trainer=nowhere.py"], "nowhere.py does not exist"),
])
def test_bad_sweep_arguments_say_what_is_wrong(sweep_files, arguments, message):
    code, _, err = run_sweep(sweep_files, *arguments)
    assert code == 1 and message in err


def test_two_settings_with_one_name_are_refused(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.flags").write_text("")
    with pytest.raises(ValueError, match="two settings are named 'x'"):
        runs.setting_names([str(tmp_path / "a" / "x.flags"), str(tmp_path / "b" / "x.flags")])


def test_an_interrupted_sweep_passes_the_signal_to_its_runs_once(sweep_files):
    out_dir = sweep_files / "sweep"

    def interrupt_when_both_wait():
        deadline = time.monotonic() + 60
        while len(list(out_dir.glob("*/seed_0/waiting"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_both_wait, daemon=True).start()
    code, _, err = run_sweep(sweep_files, "--seeds=0", "--parallel=2",
                             "--train_arg=--wait_for_signal=1")
    assert code == 130
    assert err.strip().splitlines()[-1] == (
        "interrupted: the runs under way stopped at a step boundary with a checkpoint; rerun "
        "the same command to continue")
    for setting in ("ttur", "orig"):
        assert (out_dir / setting / "seed_0" / "stopped_by.txt").read_text() == "2"
        assert not (out_dir / setting / "seed_0" / "sweep_run.json").exists()
    assert not (out_dir / ".lock").exists()


def test_a_second_sweep_on_one_folder_is_refused(sweep_files):
    holder = hold_lock(sweep_files / "sweep" / ".lock")
    try:
        code, _, err = run_sweep(sweep_files, "--seeds=0")
    finally:
        holder.communicate("")
    assert code == 1
    assert err.strip().splitlines()[-1].startswith(
        f"error: the sweep folder {sweep_files / 'sweep'} is in use by process {holder.pid}")
    assert not (sweep_files / "calls.txt").exists()
