"""The saddle-point toy experiment: the update rule by hand, and the paper's Figure 4 claims over seeds."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ttur_tf.toy import rules, saddle

ROOT = Path(__file__).resolve().parents[1]


def test_the_saddle_is_at_the_origin_with_value_100():
    assert saddle.objective(0.0, 0.0) == 100.0
    assert saddle.objective(1.0, 0.0) > 100.0 > saddle.objective(0.0, 1.0)  # min in x, max in y


def test_one_iteration_by_hand_x_first_then_y_with_the_new_x_and_noise_drawn_x_then_y():
    lr_x, lr_y = 0.01, 0.02
    noise_x, noise_y = np.random.default_rng(5).normal(size=2)
    x = 0.5 - lr_x * (2 * 0.5 * (100 - 0.16) + noise_x)
    y = -0.4 + lr_y * (-2 * -0.4 * (1 + x * x) + noise_y)
    run = saddle.run_saddle(lr_x, lr_y, n_iter=1, sigma=1.0, rng=np.random.default_rng(5))
    assert run.x.tolist() == [0.5, pytest.approx(x, abs=1e-15)]
    assert run.y.tolist() == [-0.4, pytest.approx(y, abs=1e-15)]
    assert run.objective.shape == run.distance.shape == (1,)


def test_without_noise_a_slow_x_converges_to_the_saddle():
    run = saddle.run_saddle(*saddle.SETTINGS["ttur_x_slow"], n_iter=5000, sigma=0.0)
    assert run.distance[-1] < 1e-3 and abs(run.objective[-1] - 100.0) < 1e-3


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="lr_x, lr_y > 0"):
        saddle.run_saddle(0.0, 0.01)


def medians_over_seeds(setting, seeds=range(10)):
    runs = [saddle.run_saddle(*saddle.SETTINGS[setting], rng=np.random.default_rng(seed))
            for seed in seeds]
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
         "--rules=alternating,extragradient", f"--out_dir={tmp_path}"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "saddle_curves.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 4 * 2 * 201
    assert {row["setting"] for row in rows} == set(saddle.SETTINGS)
    assert {row["rule"] for row in rows} == {"alternating", "extragradient"}
    assert float(rows[0]["x"]) == 0.5 and float(rows[0]["objective"]) == pytest.approx(1.25 * 99.84)
    assert (tmp_path / "saddle.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = {tuple(line.split()[:2]): line.split()[3] for line in result.stdout.splitlines()
             if line.split()[:1] and line.split()[0] in saddle.SETTINGS}
    assert table[("ttur_x_slow", "alternating")] == "converges"
    assert table[("orig_fast", "extragradient")] == "diverges"
    assert "Warning" not in result.stderr


# The saddle with the other update rules of ttur_tf.toy.rules.

def field_at(x, y):
    """(−∂f/∂x, ∂f/∂y) of the saddle, noise-free."""
    return np.array([-2 * x * (100 - y * y), -2 * y * (1 + x * x)])


def test_simultaneous_steps_both_from_the_same_point():
    lr = np.array([0.01, 0.02])
    noise = np.random.default_rng(5).normal(size=2)
    expected = np.array([0.5, -0.4]) + lr * (field_at(0.5, -0.4) + noise * [-1, 1])
    run = saddle.run_saddle(*lr, n_iter=1, rng=np.random.default_rng(5), rule="simultaneous")
    np.testing.assert_allclose([run.x[1], run.y[1]], expected, atol=1e-15)


def test_extragradient_draws_fresh_noise_for_its_second_gradient_at_the_extrapolated_point():
    lr = np.array([0.01, 0.02])
    noise = np.random.default_rng(5).normal(size=(2, 2)) * [-1, 1]  # x's noise enters with −
    look_ahead = np.array([0.5, -0.4]) + lr * (field_at(0.5, -0.4) + noise[0])
    expected = np.array([0.5, -0.4]) + lr * (field_at(*look_ahead) + noise[1])
    run = saddle.run_saddle(*lr, n_iter=1, rng=np.random.default_rng(5), rule="extragradient")
    np.testing.assert_allclose([run.x[1], run.y[1]], expected, atol=1e-15)


def test_optimistic_starts_like_simultaneous_then_steps_with_twice_the_new_minus_the_old_field():
    lr = np.array([0.01, 0.02])
    first = np.array([0.5, -0.4]) + lr * field_at(0.5, -0.4)
    second = first + lr * (2 * field_at(*first) - field_at(0.5, -0.4))
    run = saddle.run_saddle(*lr, n_iter=2, sigma=0.0, rule="optimistic")
    np.testing.assert_allclose(np.stack([run.x, run.y], axis=1)[1:], [first, second], atol=1e-15)


@pytest.mark.parametrize("setting", sorted(saddle.SETTINGS))
def test_the_spectral_radius_at_the_saddle_has_its_closed_form(setting):
    lr_x, lr_y = saddle.SETTINGS[setting]
    stiffness = np.array([200 * lr_x, 2 * lr_y])  # the field's Jacobian is diag(−200, −2)
    gradient_descent = np.abs(1 - stiffness).max()
    extragradient = np.abs(1 - stiffness + stiffness**2).max()
    for rule, expected in (("simultaneous", gradient_descent), ("alternating", gradient_descent),
                           ("extragradient", extragradient)):
        assert saddle.saddle_spectral_radius(rule, lr_x, lr_y) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("rule", rules.UPDATE_RULES)
@pytest.mark.parametrize("setting", sorted(saddle.SETTINGS))
def test_without_noise_each_rule_does_what_its_spectral_radius_predicts(setting, rule):
    lr_x, lr_y = saddle.SETTINGS[setting]
    prediction = rules.predicted_outcome(saddle.saddle_spectral_radius(rule, lr_x, lr_y), 1e-6)
    run = saddle.run_saddle(lr_x, lr_y, n_iter=20000, sigma=0.0, rule=rule)
    if prediction == "converges":
        assert run.distance[-1] < 1e-6
    elif prediction == "diverges":
        assert not np.isfinite(run.distance[-1]) or run.distance[-1] > 1e3
    else:  # lr_x 0.01 multiplies x by about −1 at every step: it keeps jumping across the saddle
        assert prediction == "circles"
        assert (np.sign(run.x[-100:-1]) == -np.sign(run.x[-99:])).all()


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="rule must be one of"):
        saddle.run_saddle(0.01, 0.01, rule="sgd")
