"""The paper's saddle-point toy experiment (Figure 4): one vs two time scales on a noisy saddle.

Reproduces bioinf-jku/TTUR ``Toy_Data_Example/ttur_example_saddle.ipynb``: the objective
f(x, y) = (1 + x²)(100 − y²) has a saddle at (0, 0) with f = 100. Each iteration first takes a
gradient *descent* step on x, then a gradient *ascent* step on y that already uses the new x; each
gradient gets N(0, σ²) noise (σ = 1), drawn x first, then y. Start (0.5, −0.4), 5000 iterations.

Settings (lr_x, lr_y) of the figure:

* ``orig_fast`` (0.01, 0.01) and ``orig_slow`` (0.001, 0.001): one time scale;
* ``ttur_x_slow`` (0.0001, 0.01) and ``ttur_y_slow`` (0.01, 0.0001): two time scales.

With lr_x = 0.01 the x step multiplies x by 1 − 2·lr_x·(100 − y²) ≈ −1: x oscillates around the
saddle instead of settling, whereas a slow x lets y equilibrate first (the paper's argument).

Beyond the notebook, ``run_saddle(..., rule=...)`` plays the same game with the other update
rules of ``ttur_tf.toy.rules`` (simultaneous, extragradient, optimistic), each with the two
learning rates, and ``saddle_spectral_radius`` predicts what each does near the saddle.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ttur_tf.toy import rules

__all__ = [
    "SETTINGS",
    "SaddleTrajectory",
    "distance_to_saddle",
    "objective",
    "run_saddle",
    "saddle_spectral_radius",
]

SETTINGS = {
    "orig_fast": (0.01, 0.01),
    "orig_slow": (0.001, 0.001),
    "ttur_x_slow": (0.0001, 0.01),
    "ttur_y_slow": (0.01, 0.0001),
}
START = (0.5, -0.4)


def objective(x, y):
    """f(x, y) = (1 + x²)(100 − y²), elementwise on floats or arrays."""
    return (1.0 + np.square(x)) * (100.0 - np.square(y))


def distance_to_saddle(x, y):
    """‖(x, y)‖, the distance to the saddle point (0, 0)."""
    return np.hypot(x, y)


@dataclasses.dataclass(frozen=True)
class SaddleTrajectory:
    """One run. ``x``, ``y``: float64 (n_iter + 1,), the start included; ``objective`` and
    ``distance``: float64 (n_iter,), after each iteration (as the notebook records them)."""

    x: np.ndarray
    y: np.ndarray

    @property
    def objective(self) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged run holds inf / nan
            return objective(self.x[1:], self.y[1:])

    @property
    def distance(self) -> np.ndarray:
        return distance_to_saddle(self.x[1:], self.y[1:])

    def first_iteration_within(self, radius: float) -> float:
        """The first iteration (1-based) after which ‖(x, y)‖ < radius; inf if never."""
        inside = np.flatnonzero(self.distance < radius)
        return float(inside[0] + 1) if inside.size else float("inf")


def _noisy_field(noise: np.ndarray):
    """The saddle's field for ``rules``: (−∂f/∂x, ∂f/∂y) plus the noise of the iteration's
    ``evaluation``-th gradient (``noise``: (n_iter, evaluations, 2), x then y)."""
    def field(point, iteration, evaluation):
        x, y = point
        return np.array([-(2.0 * x * (100.0 - y * y) + noise[iteration, evaluation, 0]),
                         -2.0 * y * (1.0 + x * x) + noise[iteration, evaluation, 1]])
    return field


def run_saddle(
    lr_x: float,
    lr_y: float,
    n_iter: int = 5000,
    sigma: float = 1.0,
    rng: np.random.Generator | None = None,
    start: tuple[float, float] = START,
    rule: str = "alternating",
) -> SaddleTrajectory:
    """Noisy descent on x / ascent on y with an update rule of ``ttur_tf.toy.rules``.

    The default, ``alternating``, is the notebook's order: x first, then y with the new x, the
    noise drawn x then y. Every gradient evaluation gets its own noise, so extragradient draws
    twice per iteration.

    Args:
        lr_x, lr_y: the two learning rates (> 0).
        n_iter: iterations (≥ 1).
        sigma: standard deviation of the gradient noise (≥ 0).
        rng: the noise source (default: a fresh unseeded generator).
        start: the initial (x, y).
        rule: one of ``rules.UPDATE_RULES``.
    """
    if lr_x <= 0 or lr_y <= 0 or n_iter < 1 or sigma < 0:
        raise ValueError(f"need lr_x, lr_y > 0, n_iter ≥ 1, sigma ≥ 0; got {lr_x}, {lr_y}, "
                         f"{n_iter}, {sigma}")
    if rule not in rules.UPDATE_RULES:
        raise ValueError(f"rule must be one of {rules.UPDATE_RULES}, got {rule!r}")
    rng = rng or np.random.default_rng()
    shape = (n_iter, rules.evaluations_per_iteration(rule), 2)
    noise = rng.normal(scale=sigma, size=shape) if sigma else np.zeros(shape)
    path = rules.play(_noisy_field(noise), rule, (lr_x, lr_y), start, n_iter)
    return SaddleTrajectory(path[:, 0].copy(), path[:, 1].copy())


def saddle_spectral_radius(rule: str, lr_x: float, lr_y: float) -> float:
    """ρ of one noise-free update's Jacobian at the saddle (0, 0). The field's Jacobian there is
    diag(−200, −2), so x is the stiff direction: simultaneous and alternating steps multiply x
    by 1 − 200·lr_x (ρ = 1 at lr_x = 0.01: x keeps oscillating); extragradient by
    1 − 200·lr_x + (200·lr_x)², which is 3 at lr_x = 0.01."""
    field = _noisy_field(np.zeros((1, 2, 2)))
    return rules.spectral_radius(rules.update_jacobian(field, rule, (lr_x, lr_y)))
