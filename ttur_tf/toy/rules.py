"""The update rules of two-player games on a plane, shared by the toy experiments (the saddle of
``ttur_tf.toy.saddle`` and the Dirac-GAN of ``ttur_tf.toy.dirac``).

A game is given by its *field*: ``field(point, iteration, evaluation)`` maps a point (a, b) —
float64 (2,) — to (the first player's descent direction, the second player's ascent direction),
float64 (2,). ``iteration`` (0-based) and ``evaluation`` (0, or 1 for extragradient's second
gradient) let a noisy field draw fresh noise for each gradient it gives. Each player has its own
step size, so every rule runs with one or two time scales:

* ``simultaneous``: both players step from the same point;
* ``alternating``: the first player steps, then the second at the first's new value, with the
  iteration's one noise draw (the order of the original TTUR scripts and of the saddle notebook);
* ``extragradient`` (Korpelevich; Gidel et al., ICLR 2019): an extrapolation step of both, then
  the step from the start with the field at the extrapolated point (two evaluations);
* ``optimistic`` (Daskalakis et al., ICLR 2018): the step uses 2·v_t − v_{t−1} (v_{−1} = v_0).

Near a fixed point the spectral radius ρ of one update's Jacobian decides: the iterates converge
when ρ < 1, move away when ρ > 1 and circle when ρ = 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "UPDATE_RULES",
    "evaluations_per_iteration",
    "play",
    "predicted_outcome",
    "spectral_radius",
    "update_jacobian",
]

UPDATE_RULES = ("simultaneous", "alternating", "extragradient", "optimistic")

Field = Callable[[np.ndarray, int, int], np.ndarray]


def evaluations_per_iteration(rule: str) -> int:
    """How many gradient evaluations (noise draws) an iteration of ``rule`` takes: 2 for
    extragradient, 1 otherwise."""
    return 2 if rule == "extragradient" else 1


def _step(field: Field, rule: str, point: np.ndarray, steps: np.ndarray, iteration: int,
          previous_field: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """One update of ``rule`` from ``point``; returns (the new point, v_t for ``optimistic``)."""
    velocity = field(point, iteration, 0)
    if rule == "simultaneous":
        return point + steps * velocity, velocity
    if rule == "alternating":
        first = point[0] + steps[0] * velocity[0]
        second = point[1] + steps[1] * field(np.array([first, point[1]]), iteration, 0)[1]
        return np.array([first, second]), velocity
    if rule == "extragradient":
        look_ahead = point + steps * velocity
        return point + steps * field(look_ahead, iteration, 1), velocity
    previous = velocity if previous_field is None else previous_field
    return point + steps * (2.0 * velocity - previous), velocity


def _checked_steps(rule: str, steps) -> np.ndarray:
    if rule not in UPDATE_RULES:
        raise ValueError(f"rule must be one of {UPDATE_RULES}, got {rule!r}")
    steps = np.asarray(steps, dtype=np.float64)
    if steps.shape != (2,) or not (steps > 0).all():
        raise ValueError(f"steps must be two positive step sizes, one per player, got {steps}")
    return steps


def play(field: Field, rule: str, steps, start, iterations: int) -> np.ndarray:
    """The path (iterations + 1, 2), float64, of ``rule`` from ``start``.

    Args:
        field: the game (see the module docstring).
        rule: one of ``UPDATE_RULES``.
        steps: (the first player's, the second player's) step size, both > 0.
        start: the initial point (a, b).
        iterations: updates (≥ 1).

    Returns:
        The path, the start included; a run that diverges ends in inf or nan values.

    Raises:
        ValueError: an unknown rule, non-positive step sizes or iterations < 1.
    """
    steps = _checked_steps(rule, steps)
    if iterations < 1:
        raise ValueError(f"iterations must be ≥ 1, got {iterations}")
    path = np.empty((iterations + 1, 2))
    path[0] = start
    previous = None
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run ends in inf / nan
        for index in range(iterations):
            path[index + 1], previous = _step(field, rule, path[index], steps, index, previous)
    return path


def update_jacobian(field: Field, rule: str, steps, fixed_point=(0.0, 0.0),
                    delta: float = 1e-6) -> np.ndarray:
    """The Jacobian of one update at ``fixed_point`` (central differences of a noise-free
    ``field``). For ``optimistic`` the state is (a, b, v_{t−1}): a 4 × 4 matrix; 2 × 2 otherwise."""
    steps = _checked_steps(rule, steps)
    center = np.asarray(fixed_point, dtype=np.float64)
    if rule == "optimistic":
        velocity = field(center, 0, 0)

        def update(offset):
            new, used = _step(field, rule, center + offset[:2], steps, 0, velocity + offset[2:])
            return np.concatenate([new, used])
        size = 4
    else:
        def update(offset):
            return _step(field, rule, center + offset, steps, 0, None)[0]
        size = 2
    jacobian = np.empty((size, size))
    for column in range(size):
        offset = np.zeros(size)
        offset[column] = delta
        jacobian[:, column] = (update(offset) - update(-offset)) / (2 * delta)
    return jacobian


def spectral_radius(matrix: np.ndarray) -> float:
    """The largest |eigenvalue|: < 1 the iterates converge locally, > 1 they move away."""
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))


def predicted_outcome(radius: float, tolerance: float = 1e-9) -> str:
    """"converges", "diverges" or "circles" for a spectral radius (ρ = 1 within ``tolerance``)."""
    if radius < 1 - tolerance:
        return "converges"
    return "diverges" if radius > 1 + tolerance else "circles"
