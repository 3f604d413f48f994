"""scripts/reproduce_table1.py: the paper's Table 1 rows in both settings, resumable, reported.

End to end on CPU at tiny sizes: each row's real flagfiles with their sizes overridden, the
language row on a small corpus (quick tier), the image rows on tfds mock data with the stand-in
Inception graph and a kill in the middle (heavy tier).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_script_in_process
from test_language import tiny_corpus  # noqa: F401 (fixture)
from ttur_tf.sweep import table1, table1_report, table1_results
from ttur_tf.sweep.event_scalars import read_scalars

CONFIGS = ROOT / "configs"
TINY_LANGUAGE = ["--steps=4", "--dim=8", "--seq_len=10", "--batch_size=16", "--jsd_every=2",
                 "--jsd_num_batches=1", "--log_every=1", "--checkpoint_every=2",
                 "--max_n_examples=400"]


def test_the_rows_are_the_papers_seven_experiments_with_their_published_values():
    rows = table1.find_rows(CONFIGS)
    assert list(rows) == ["dcgan_celeba", "dcgan_cifar10", "dcgan_lsun", "dcgan_svhn", "lang_1b",
                          "wgan_gp_cifar10", "wgan_gp_lsun"]
    assert rows["wgan_gp_cifar10"].paper == {"ttur": {"fid": 24.8}, "orig": {"fid": 29.3}}
    assert rows["lang_1b"].paper == {"ttur": {"js4": 0.35, "js6": 0.74},
                                     "orig": {"js4": 0.38, "js6": 0.77}}
    assert rows["dcgan_celeba"].dataset == "celeb_a"
    assert all(row.dataset in table1.PUBLISHED_STATISTICS
               for name, row in rows.items() if name != "lang_1b")


def test_an_unknown_row_is_refused_with_the_rows_there_are():
    with pytest.raises(ValueError, match="no Table 1 row named wgan_cifar; the rows are: "
                                         "dcgan_celeba, "):
        table1.select_rows(table1.find_rows(CONFIGS), ["wgan_cifar"])


def test_only_arguments_that_change_the_training_count_as_overrides():
    given = ["--dataset=/data/x", "--fid_stats=s.npz", "--strategy=mirrored", "--steps=2",
             "--dim=4"]
    assert table1_results.overrides(given) == ["--steps=2", "--dim=4"]


def entry(row, setting, seed, best, step=100, overrides=(), device="GPU"):
    return dict(row=row, setting=setting, seed=seed, status="finished", step=step,
                best={metric: {"value": value, "step": step} for metric, value in best.items()},
                overrides=list(overrides), steps_per_second=2.0, wall_seconds=50.0,
                environment={"device": device})


def test_the_measured_column_shows_each_settings_best_over_seeds_and_marks_overridden_runs():
    rows = table1.find_rows(CONFIGS)
    entries = [entry("wgan_gp_cifar10", "ttur", 0, {"fid": 24.0}, step=150000),
               entry("wgan_gp_cifar10", "ttur", 1, {"fid": 26.0}, step=168000),
               entry("wgan_gp_cifar10", "orig", 0, {"fid": 29.0}, step=53000),
               entry("lang_1b", "ttur", 0, {"js4": 0.36, "js6": 0.75}, overrides=["--steps=4"])]
    template = (ROOT / "docs" / "paper_results.md").read_text()
    rendered = table1_report.render_paper_results(template, list(rows.values()), entries)
    cifar = next(line for line in rendered.splitlines() if "configs/wgan_gp_cifar10_ttur" in line)
    assert cifar.endswith("| TTUR FID 25 [24, 26] at 150k–168k; orig FID 29 at 53k "
                          "(seeds: TTUR 2, orig 1; GPU) |")
    language = next(line for line in rendered.splitlines() if "configs/lang_1b_ttur" in line)
    assert "TTUR JSD4 0.36 at 100, JSD6 0.75 at 100" in language
    assert language.endswith("with --steps=4: not the paper's setting |")
    celeba = next(line for line in rendered.splitlines() if "configs/dcgan_celeba_ttur" in line)
    assert celeba.endswith("| |")  # no run: the cell stays empty
    assert len(rendered.splitlines()) == len(template.splitlines())


def test_results_keep_the_machine_that_finished_a_run(tmp_path):
    path = tmp_path / "results.json"
    first = [dict(entry("lang_1b", "ttur", 0, {"js4": 0.4}), environment=None)]
    table1_results.write_results(path, first, [], {"device": "machine A"})
    again = [dict(entry("lang_1b", "ttur", 0, {"js4": 0.4}), environment=None),
             dict(entry("lang_1b", "orig", 0, {"js4": 0.5}), environment=None)]
    written = table1_results.write_results(path, again, table1_results.read_results(path),
                                           {"device": "machine B"})
    assert [run["environment"]["device"] for run in written] == ["machine B", "machine A"]
    assert json.loads(path.read_text())["runs"] == written


def test_a_results_file_of_something_else_is_refused(tmp_path):
    (tmp_path / "results.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="is not a results file of reproduce_table1.py"):
        table1_results.read_results(tmp_path / "results.json")


@pytest.mark.slow
def test_the_language_row_runs_both_settings_and_fills_results_figures_and_the_document(
        tmp_path, tiny_corpus):  # noqa: F811 (fixture)
    out = tmp_path / "table1"
    arguments = ["--rows=lang_1b", f"--out_dir={out}", "--parallel=2",
                 f"--row_arg=lang_1b:--dataset={tiny_corpus}",
                 *[f"--train_arg={argument}" for argument in TINY_LANGUAGE]]
    code, printed, errors = run_script_in_process("reproduce_table1.py", *arguments)
    assert code == 0, errors
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert [(run["setting"], run["status"], run["step"]) for run in runs] == [
        ("orig", "finished", 4), ("ttur", "finished", 4)]
    for run in runs:
        js4 = read_scalars(run["logdir"])["js4"]
        assert run["best"]["js4"] == {"value": float(js4.values.min()),
                                      "step": int(js4.steps[np.argmin(js4.values)])}
        assert run["overrides"] == TINY_LANGUAGE and run["steps_per_second"] > 0
        assert run["environment"]["versions"]["tensorflow"] and "CPU" in \
            run["environment"]["device"]
    assert (out / "figures" / "lang_1b_best_js4.png").is_file()  # matplotlib: a test extra
    document = (out / "paper_results.md").read_text()
    assert "not the paper's setting" in document and "TTUR JSD4 " in document
    assert "lang_1b  " in printed and "0.35" in printed
    # A rerun trains nothing and reports the same.
    code, printed, _ = run_script_in_process("reproduce_table1.py", *arguments)
    assert code == 0 and "2 runs: 2 finished before (skipped), 0 to run" in printed
    assert json.loads((out / "results.json").read_text())["runs"] == runs


MOCK_TFDS_LAUNCHER = """
import runpy, sys
import tensorflow_datasets as tfds
_, script, *arguments = sys.argv[1:]   # the Python that would run the script, the script, its flags
with tfds.testing.mock_data(num_examples=24):
    sys.argv = [script, *arguments]
    runpy.run_path(script, run_name="__main__")
"""

TINY_IMAGES = ["--steps=4", "--dim=4", "--batch_size=4", "--image_size=16", "--fid_every=2",
               "--fid_num_samples=8", "--fid_batch_size=4", "--fid_sample_batch_size=4",
               "--log_every=1", "--checkpoint_every=1", "--sample_every=100"]


@pytest.mark.heavy
@pytest.mark.slow
def test_every_image_row_runs_on_mock_data_and_a_killed_reproduction_resumes(
        tmp_path, standin_graph_path):
    launcher = tmp_path / "mock_tfds.py"
    launcher.write_text(MOCK_TFDS_LAUNCHER)
    out = tmp_path / "table1"
    command = [sys.executable, str(ROOT / "scripts" / "reproduce_table1.py"),
               "--rows=dcgan_celeba,dcgan_cifar10,dcgan_lsun,dcgan_svhn,wgan_gp_cifar10,"
               "wgan_gp_lsun", f"--out_dir={out}", f"--inception_path={standin_graph_path}",
               f"--launcher={sys.executable} {launcher}", "--parallel=2",
               *[f"--train_arg={argument}" for argument in TINY_IMAGES],
               # its critic head scores groups of (size/8)² images: 4 at 32×32, as in the paper
               "--row_arg=wgan_gp_cifar10:--image_size=32"]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    first = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    while not list(out.glob("*/seed_0/checkpoints/ckpt-2.index")):  # a run is halfway
        assert first.poll() is None, first.communicate()
        time.sleep(0.5)
    subprocess.run(["pkill", "-KILL", "-f", str(out)])  # the reproduction and its runs, at once
    first.wait(timeout=60)
    finished = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True,
                              text=True, timeout=1200)
    assert finished.returncode == 0, finished.stderr
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert len(runs) == 12 and {run["status"] for run in runs} == {"finished"}
    assert all(np.isfinite(run["best"]["fid"]["value"]) for run in runs)
    assert len({run["inception_sha256"] for run in runs}) == 1
    resumed = [run for run in runs if "resum" in (Path(run["logdir"]) / "train.log").read_text()]
    assert resumed, "the killed runs continued from their checkpoints"
    assert len(list((out / "figures").glob("*_best_fid.png"))) in (0, 6)
