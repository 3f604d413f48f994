"""The Dirac-GAN (Mescheder et al., ICML 2018, "Which training methods for GANs do actually
converge?"), with the update rules and regularizers of the related work, one or two time scales.

The real data is a point mass at 0; the generator is a point mass at θ; the discriminator is
linear, D(x) = ψ·x. With a loss function f the game's value is (Mescheder et al.'s
L = E f(D(fake)) + E f(−D(real)))

    L(θ, ψ) = f(ψ·θ) + f(0)

(the discriminator ascends L in ψ, the generator descends it in θ; f(t) = −log(1 + e^{−t}) for
the original GAN, f(t) = t for the WGAN). The unique equilibrium is (θ, ψ) = (0, 0). The
vector field of simultaneous gradient play is v(θ, ψ) = (−f'(ψθ)·ψ, f'(ψθ)·θ) (plus the
regularizer's terms); its Jacobian at the equilibrium,

    J = [[0, −f'(0)], [f'(0), −γ]]   (γ = 0 without a gradient penalty),

decides what each rule does near it: an update map with step sizes h = (h_θ, h_ψ) has Jacobian
M, and the iterates converge when the spectral radius ρ(M) < 1, spiral out when ρ(M) > 1, and
circle when ρ(M) = 1 (``update_jacobian``, ``spectral_radius``).

Update rules (each with its own step size per player, so one or two time scales):

* ``simultaneous``: both players step from the same point;
* ``alternating``: the generator first, then the discriminator at the new θ (the order of the
  original TTUR scripts);
* ``extragradient`` (Korpelevich; Gidel et al., ICLR 2019): an extrapolation step of both, then
  the update from the start with the gradients at the extrapolated point;
* ``optimistic`` (Daskalakis et al., ICLR 2018): the step uses 2·v_t − v_{t−1}.

Regularizers of the discriminator: ``none``; ``r1`` and ``r2`` (γ/2·‖∇ₓD‖² on real or fake
samples; for a linear D both are γ/2·ψ²); ``gp`` (WGAN-GP, γ/2·(‖∇ₓD‖ − 1)², which keeps |ψ| near
1 and so no longer has (0, 0) as a fixed point); ``instance_noise`` (both samples blurred by
N(0, σ²), the expectation taken with Gauss–Hermite quadrature, so runs are deterministic).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special

__all__ = [
    "LOSSES",
    "REGULARIZERS",
    "UPDATE_RULES",
    "DiracGame",
    "equilibrium_is_stationary",
    "run_dirac",
    "spectral_radius",
    "update_jacobian",
]

UPDATE_RULES = ("simultaneous", "alternating", "extragradient", "optimistic")
REGULARIZERS = ("none", "r1", "r2", "gp", "instance_noise")
LOSSES = ("gan", "wgan")
_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / _HERMITE_WEIGHTS.sum()  # expectation under N(0, 1)


def _f_prime(loss: str, t):
    """f'(t): the logistic σ(−t) for the GAN loss, 1 for the WGAN."""
    if loss == "gan":
        return special.expit(-np.asarray(t, dtype=np.float64))
    return np.ones_like(np.asarray(t, dtype=np.float64))


@dataclasses.dataclass(frozen=True)
class DiracGame:
    """A Dirac-GAN setting.

    Attributes:
        loss: "gan" or "wgan".
        regularizer: one of ``REGULARIZERS``.
        gamma: the regularizer's weight γ (r1, r2, gp).
        noise: σ of instance noise.
    """

    loss: str = "gan"
    regularizer: str = "none"
    gamma: float = 1.0
    noise: float = 0.5

    def __post_init__(self):
        if self.loss not in LOSSES or self.regularizer not in REGULARIZERS:
            raise ValueError(f"loss must be one of {LOSSES} and regularizer one of "
                             f"{REGULARIZERS}, got {self.loss!r} and {self.regularizer!r}")

    def field(self, theta: float, psi: float) -> np.ndarray:
        """(dθ, dψ): the descent direction of the generator and the ascent direction of the
        discriminator at (θ, ψ), regularizer included."""
        if self.regularizer == "instance_noise":
            eps = self.noise * _HERMITE_NODES
            # L = E f(ψ(θ + ε)) + E f(−ψ ε): fake samples at θ + ε, real ones at ε.
            fake = _f_prime(self.loss, psi * (theta + eps))
            real = _f_prime(self.loss, -psi * eps)
            d_theta = -np.dot(_HERMITE_WEIGHTS, fake * psi)
            d_psi = np.dot(_HERMITE_WEIGHTS, fake * (theta + eps) - real * eps)
            return np.array([d_theta, d_psi])
        slope = _f_prime(self.loss, psi * theta)
        d_theta, d_psi = -slope * psi, slope * theta
        if self.regularizer in ("r1", "r2"):
            d_psi -= self.gamma * psi
        elif self.regularizer == "gp":
            d_psi -= self.gamma * (abs(psi) - 1.0) * np.sign(psi)
        return np.array([d_theta, d_psi])


def _step(game: DiracGame, rule: str, point: np.ndarray, steps: np.ndarray,
          previous_field: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """One update of ``rule`` from ``point`` = (θ, ψ); returns (new point, the field used as
    v_t for the optimistic rule)."""
    field = game.field(*point)
    if rule == "simultaneous":
        return point + steps * field, field
    if rule == "alternating":
        theta = point[0] + steps[0] * field[0]
        return np.array([theta, point[1] + steps[1] * game.field(theta, point[1])[1]]), field
    if rule == "extragradient":
        look_ahead = point + steps * field
        return point + steps * game.field(*look_ahead), field
    previous = field if previous_field is None else previous_field
    return point + steps * (2.0 * field - previous), field


def run_dirac(game: DiracGame, rule: str, steps: tuple[float, float], start=(1.0, 1.0),
              iterations: int = 1000) -> np.ndarray:
    """The trajectory (iterations + 1, 2) of (θ, ψ) from ``start``.

    Args:
        game: the loss and regularizer.
        rule: one of ``UPDATE_RULES``.
        steps: (h_θ, h_ψ), the generator's and the discriminator's step sizes.
        start: (θ₀, ψ₀).
        iterations: updates.

    Returns:
        The path; a run that diverges ends in inf or nan values.

    Raises:
        ValueError: an unknown rule or non-positive step sizes.
    """
    if rule not in UPDATE_RULES:
        raise ValueError(f"rule must be one of {UPDATE_RULES}, got {rule!r}")
    steps = np.asarray(steps, dtype=np.float64)
    if steps.shape != (2,) or (steps <= 0).any():
        raise ValueError(f"steps must be two positive step sizes (h_theta, h_psi), got {steps}")
    path = np.empty((iterations + 1, 2))
    path[0] = start
    previous = None
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run ends in inf / nan
        for index in range(iterations):
            path[index + 1], previous = _step(game, rule, path[index], steps, previous)
    return path


def equilibrium_is_stationary(game: DiracGame, delta: float = 1e-9) -> bool:
    """Whether the field vanishes around (0, 0). Not for ``gp``: its penalty pushes |ψ| towards
    1, so arbitrarily close to ψ = 0 the discriminator is pushed away with force ≈ γ (the field
    is discontinuous there and has no Jacobian)."""
    return all(np.linalg.norm(game.field(theta, psi)) < 1e3 * delta
               for theta, psi in ((delta, 0.0), (0.0, delta), (-delta, 0.0), (0.0, -delta)))


def update_jacobian(game: DiracGame, rule: str, steps: tuple[float, float],
                    delta: float = 1e-6) -> np.ndarray:
    """The Jacobian of one update at the equilibrium (central differences). For ``optimistic``
    the state is (θ, ψ, v_{t−1}): a 4 × 4 matrix; 2 × 2 otherwise."""
    steps = np.asarray(steps, dtype=np.float64)
    if rule == "optimistic":
        def update(state):
            point, previous = state[:2], state[2:]
            new, field = _step(game, rule, point, steps, previous)
            return np.concatenate([new, field])
        size = 4
    else:
        def update(state):
            return _step(game, rule, state, steps, None)[0]
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
