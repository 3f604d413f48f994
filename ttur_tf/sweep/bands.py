"""Curves of a setting over seeds, as the paper reports them: the mean with the min/max band, at
each step every run logged, and the best value of each run.

The runs of one setting evaluate at the same steps (their flags differ only in the seed); a step
that not every run reached is left out, so that the band always covers all of them. Each step's
wall-clock time is the run's ``elapsed_seconds`` there (interpolated between its log steps).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ttur_tf.sweep.event_scalars import Series

__all__ = ["HIGHER_IS_BETTER", "Band", "Best", "band", "best_of_runs", "plotted_tags"]

HIGHER_IS_BETTER = frozenset({"inception_score", "precision", "recall"})
ELAPSED_TAG = "elapsed_seconds"


@dataclasses.dataclass(frozen=True)
class Band:
    """One metric of one setting over its runs, all arrays (n,) at the ``steps`` (int64) every
    run logged: ``mean``, ``low``, ``high`` of the metric (float64); ``seconds`` the mean
    wall-clock time at each step (float64; nan if a run did not log ``elapsed_seconds``)."""

    steps: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    seconds: np.ndarray
    runs: int


@dataclasses.dataclass(frozen=True)
class Best:
    """The best value of each run (float64 (runs,)), and the metric's last value of each."""

    best: np.ndarray
    last: np.ndarray

    def describe(self) -> str:
        """"mean [min, max]" of the best values."""
        return f"{self.best.mean():.4g} [{self.best.min():.4g}, {self.best.max():.4g}]"


def plotted_tags(runs: list[dict[str, Series]]) -> list[str]:
    """The tags worth a figure: every scalar some run logged, except ``elapsed_seconds`` and the
    running ``best_*`` values (the best of each run is in the summary instead)."""
    tags = set().union(*runs) if runs else set()
    return sorted(tag for tag in tags if tag != ELAPSED_TAG and not tag.startswith("best_"))


def _seconds_at(run: dict[str, Series], steps: np.ndarray) -> np.ndarray:
    clock = run.get(ELAPSED_TAG)
    if clock is None or clock.steps.size == 0:
        return np.full(steps.shape, np.nan)
    if clock.steps[0] > 0:  # before the first log step: interpolated from 0 s at step 0
        return np.interp(steps, np.concatenate([[0], clock.steps]),
                         np.concatenate([[0.0], clock.values]))
    return np.interp(steps, clock.steps, clock.values)


def band(runs: list[dict[str, Series]], tag: str) -> Band | None:
    """The mean and min/max of ``tag`` over ``runs`` (each: ``read_scalars`` of one run) at the
    steps all of them logged; None if some run did not log ``tag`` or they share no step."""
    if not runs or any(tag not in run for run in runs):
        return None
    steps = runs[0][tag].steps
    for run in runs[1:]:
        steps = np.intersect1d(steps, run[tag].steps)
    if steps.size == 0:
        return None
    values = np.stack([run[tag].values[np.searchsorted(run[tag].steps, steps)] for run in runs])
    seconds = np.stack([_seconds_at(run, steps) for run in runs]).mean(axis=0)
    return Band(steps, values.mean(axis=0), values.min(axis=0), values.max(axis=0), seconds,
                len(runs))


def best_of_runs(runs: list[dict[str, Series]], tag: str) -> Best | None:
    """Each run's best ``tag`` (the lowest; the highest for ``HIGHER_IS_BETTER``) over all its
    steps, and its last; None if some run did not log it. Non-finite values are ignored."""
    if not runs or any(tag not in run for run in runs):
        return None
    choose = np.nanmax if tag in HIGHER_IS_BETTER else np.nanmin
    best, last = [], []
    for run in runs:
        values = np.where(np.isfinite(run[tag].values), run[tag].values, np.nan)
        best.append(choose(values) if np.isfinite(values).any() else np.nan)
        last.append(run[tag].values[-1])
    return Best(np.array(best), np.array(last))
