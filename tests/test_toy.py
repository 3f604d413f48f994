"""The saddle-point toy experiment: the update rule by hand, and the paper's Figure 4 claims over seeds."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ttur_tf import toy

ROOT = Path(__file__).resolve().parents[1]


def test_the_saddle_is_at_the_origin_with_value_100():
    assert toy.objective(0.0, 0.0) == 100.0
    assert toy.objective(1.0, 0.0) > 100.0 > toy.objective(0.0, 1.0)  # min in x, max in y


def test_one_iteration_by_hand_x_first_then_y_with_the_new_x_and_noise_drawn_x_then_y():
    lr_x, lr_y = 0.01, 0.02
    noise_x, noise_y = np.random.default_rng(5).normal(size=2)
    x = 0.5 - lr_x * (2 * 0.5 * (100 - 0.16) + noise_x)
    y = -0.4 + lr_y * (-2 * -0.4 * (1 + x * x) + noise_y)
    run = toy.run_saddle(lr_x, lr_y, n_iter=1, sigma=1.0, rng=np.random.default_rng(5))
    assert run.x.tolist() == [0.5, pytest.approx(x, abs=1e-15)]
    assert run.y.tolist() == [-0.4, pytest.approx(y, abs=1e-15)]
    assert run.objective.shape == run.distance.shape == (1,)


def test_without_noise_a_slow_x_converges_to_the_saddle():
    run = toy.run_saddle(*toy.SETTINGS["ttur_x_slow"], n_iter=5000, sigma=0.0)
    assert run.distance[-1] < 1e-3 and abs(run.objective[-1] - 100.0) < 1e-3


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="lr_x, lr_y > 0"):
        toy.run_saddle(0.0, 0.01)


def medians_over_seeds(setting, seeds=range(10)):
    runs = [toy.run_saddle(*toy.SETTINGS[setting], rng=np.random.default_rng(seed)) for seed in seeds]
    first_within = np.median([run.first_iteration_within(0.1) for run in runs])
    late_distance = np.median([run.distance[-500:].mean() for run in runs])
    return first_within, late_distance


def test_figure_4_ttur_reaches_the_saddle_sooner_and_one_fast_time_scale_keeps_oscillating():
    ttur_first, ttur_late = medians_over_seeds("ttur_x_slow")
    slow_first, _ = medians_over_seeds("orig_slow")
    _, fast_late = medians_over_seeds("orig_fast")
    assert 5 * ttur_first <= slow_first, (ttur_first, slow_first)
    assert fast_late >= 5 * ttur_late, (fast_late, ttur_late)


def test_the_script_writes_the_curves_and_the_figure(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "toy_saddle.py"), "--n_iter=200", "--seed=3",
         f"--out_dir={tmp_path}"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "saddle_curves.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 4 * 201
    assert {row["setting"] for row in rows} == set(toy.SETTINGS)
    assert float(rows[0]["x"]) == 0.5 and float(rows[0]["objective"]) == pytest.approx(1.25 * 99.84)
    assert (tmp_path / "saddle.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ttur_x_slow" in result.stdout
