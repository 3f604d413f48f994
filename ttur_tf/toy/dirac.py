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

The update rules (``ttur_tf.toy.rules``: simultaneous, alternating — the generator first —,
extragradient, optimistic) take a step size per player, so one or two time scales.

Regularizers of the discriminator: ``none``; ``r1`` and ``r2`` (γ/2·‖∇ₓD‖² on real or fake
samples; for a linear D both are γ/2·ψ²); ``gp`` (WGAN-GP, γ/2·(‖∇ₓD‖ − 1)², which keeps |ψ| near
1 and so no longer has (0, 0) as a fixed point); ``instance_noise`` (both samples blurred by
N(0, σ²), the expectation taken with Gauss–Hermite quadrature, so runs are deterministic).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special

from ttur_tf.toy import rules
from ttur_tf.toy.rules import UPDATE_RULES, spectral_radius

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


def _field_of(game: DiracGame):
    return lambda point, iteration, evaluation: game.field(*point)


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
    return rules.play(_field_of(game), rule, steps, start, iterations)


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
    return rules.update_jacobian(_field_of(game), rule, steps, delta=delta)
