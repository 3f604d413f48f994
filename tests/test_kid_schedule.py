"""The KID-adaptive learning-rate schedule: its test, its rule, and a resumed run continuing it."""

import numpy as np
import pytest
import tensorflow as tf

from ttur_tf.metrics import kid_schedule
from ttur_tf.metrics.kid import polynomial_mmd2_unbiased
from ttur_tf.metrics.kid_schedule import KidAdaptiveSchedule, kernel_sums, relative_test


def features(count, shift=0.0, seed=0, dim=16):
    return np.random.default_rng(seed).normal(shift, 1.0, (count, dim))


def test_the_test_compares_the_unbiased_mmds_of_the_two_sets():
    x, y, z = features(40), features(40, 0.2, seed=1), features(40, 0.8, seed=2)
    difference, statistic = relative_test(kernel_sums(x, y), kernel_sums(x, z))
    expected = polynomial_mmd2_unbiased(x, y) - polynomial_mmd2_unbiased(x, z)
    assert difference == pytest.approx(expected, rel=1e-10)
    assert statistic < -2  # y is clearly closer to x than z is


def test_the_statistic_is_standardized_when_both_sets_come_from_one_distribution():
    x = features(60, dim=8)
    statistics = [relative_test(kernel_sums(x, features(60, seed=2 * i + 1, dim=8)),
                                kernel_sums(x, features(60, seed=2 * i + 2, dim=8)))[1]
                  for i in range(200)]
    assert abs(np.mean(statistics)) < 0.3 and 0.7 < np.std(statistics) < 1.3


class ScriptedTest:
    """Replaces the three-sample test with a scripted sequence of p-values."""

    def __init__(self, p_values):
        self.p_values = list(p_values)

    def __call__(self, new, old):
        from scipy import stats
        return 0.0, float(stats.norm.ppf(self.p_values.pop(0)))


def run_schedule(schedule, evaluations):
    decays = []
    for index in range(evaluations):
        decay, _ = schedule.update(features(4, seed=0, dim=2), features(4, seed=index + 1, dim=2))
        decays.append(decay)
    return decays


def test_decays_happen_exactly_where_the_rule_says(monkeypatch):
    # memory 2: evaluations 0 and 1 fill it; tests from evaluation 2 on. Failures (p > 0.1) at
    # 2, 3, 4 → decay at 4 (patience 3), the memory then holds its last entry and the new one
    # (patience − 1 and the new one, at most memory), so evaluation 5 tests again; a success at 5 resets the count; failures 6, 7, 8 → decay at 8.
    p_values = [0.5, 0.9, 0.2, 0.01, 0.3, 0.4, 0.15]
    monkeypatch.setattr(kid_schedule, "relative_test", ScriptedTest(p_values))
    schedule = KidAdaptiveSchedule(samples=4, memory=2, patience=3)
    assert run_schedule(schedule, 9) == [False, False, False, False, True, False, False, False, True]
    assert schedule.decayed(1e-4) == pytest.approx(5e-5) and schedule.decayed(1.5e-6) == 1e-6


def test_a_failure_keeps_the_remembered_generator_and_a_success_moves_it_on(monkeypatch):
    monkeypatch.setattr(kid_schedule, "relative_test", ScriptedTest([0.5, 0.01]))
    schedule = KidAdaptiveSchedule(samples=4, memory=2, patience=3)
    run_schedule(schedule, 2)
    remembered = schedule.saved.numpy().copy()
    run_schedule(schedule, 1)  # failure: the memory is unchanged
    np.testing.assert_array_equal(schedule.saved.numpy(), remembered)
    assert int(schedule.failures.numpy()) == 1
    schedule.update(features(4, dim=2), features(4, seed=9, dim=2))  # success: oldest dropped
    np.testing.assert_array_equal(schedule.saved.numpy()[0], remembered[1])
    assert int(schedule.failures.numpy()) == 0


def test_a_restored_schedule_continues_where_it_stopped(monkeypatch, tmp_path):
    p_values = [0.5, 0.9, 0.2, 0.01, 0.3, 0.4, 0.15]
    monkeypatch.setattr(kid_schedule, "relative_test", ScriptedTest(p_values))
    uninterrupted = run_schedule(KidAdaptiveSchedule(samples=4, memory=2, patience=3), 9)

    monkeypatch.setattr(kid_schedule, "relative_test", ScriptedTest(p_values))
    first = KidAdaptiveSchedule(samples=4, memory=2, patience=3)
    decays = run_schedule(first, 3)
    path = tf.train.Checkpoint(**first.tracked).save(str(tmp_path / "ckpt"))
    resumed = KidAdaptiveSchedule(samples=4, memory=2, patience=3)
    tf.train.Checkpoint(**resumed.tracked).restore(path).assert_consumed()
    for index in range(3, 9):
        decay, _ = resumed.update(features(4, seed=0, dim=2), features(4, seed=index + 1, dim=2))
        decays.append(decay)
    assert decays == uninterrupted


def test_too_few_features_for_the_test_is_a_clear_error():
    with pytest.raises(ValueError, match="compares 2048 features per set"):
        KidAdaptiveSchedule().update(features(10), features(10))
