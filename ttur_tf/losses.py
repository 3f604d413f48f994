"""GAN losses: those of the original scripts (bioinf-jku/TTUR WGAN_GP/gan_64x64_FID.py, ``MODE``)
and the hinge loss of the GANs that followed.

Pure functions of the critic's outputs (logits, shape (B,) or (B, 1), float32), so each can be
checked against a closed form. Every expectation E[·] is a mean over the *global* batch
(``ttur_tf.distribute.global_mean``): on one device the plain mean; under a ``tf.distribute``
strategy each replica's share of it, so that the gradients summed over replicas are those of the
mean over all of them.

* ``wgan`` / ``wgan-gp``: d = E[D(fake)] − E[D(real)], g = −E[D(fake)]; wgan-gp adds λ·GP.
* ``dcgan``: d = (BCE(D(real), 1) + BCE(D(fake), 0)) / 2, g = BCE(D(fake), 1) (non-saturating).
* ``lsgan``: d = (E[(D(real) − 1)²] + E[D(fake)²]) / 2, g = E[(D(fake) − 1)²].
* ``hinge`` (SNGAN, SAGAN, BigGAN; Lim & Ye 2017): d = E[relu(1 − D(real))] + E[relu(1 +
  D(fake))], g = −E[D(fake)].

The gradient penalty (Gulrajani et al. 2017) is E[(‖∇ₓD(x̂)‖₂ − 1)²] at x̂ = real + α·(fake − real)
with one α ~ U[0, 1] per sample (not a normal draw: keras-io#624). A tiny ε inside the square root
keeps its gradient finite where ∇ₓD(x̂) is exactly zero (keras-io#910); the original has no ε.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from ttur_tf.distribute import global_mean

__all__ = [
    "LOSSES",
    "REGULARIZERS",
    "GanLoss",
    "dcgan_d_loss",
    "dcgan_g_loss",
    "gradient_penalty",
    "hinge_d_loss",
    "lsgan_d_loss",
    "lsgan_g_loss",
    "wasserstein_d_loss",
    "wasserstein_g_loss",
    "zero_centered_penalty",
]

_NORM_EPSILON = 1e-12
# The discriminator's regularizers (applied in ttur_tf.gan): see GAN's docstring.
REGULARIZERS = ("gp", "r1", "r2", "instance_noise", "none")


def wasserstein_d_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """E[D(fake)] − E[D(real)]: the negated critic estimate of the Wasserstein distance."""
    return global_mean(fake_logits) - global_mean(real_logits)


def wasserstein_g_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """−E[D(fake)]."""
    return -global_mean(fake_logits)


def _bce(logits: tf.Tensor, label: float) -> tf.Tensor:
    labels = tf.fill(tf.shape(logits), tf.constant(label, logits.dtype))
    return global_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def dcgan_d_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """(BCE(D(real), 1) + BCE(D(fake), 0)) / 2, with D's outputs as logits."""
    return (_bce(real_logits, 1.0) + _bce(fake_logits, 0.0)) / 2.0


def dcgan_g_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """BCE(D(fake), 1): the non-saturating generator loss."""
    return _bce(fake_logits, 1.0)


def lsgan_d_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """(E[(D(real) − 1)²] + E[D(fake)²]) / 2."""
    return (global_mean(tf.square(real_logits - 1.0)) + global_mean(tf.square(fake_logits))) / 2.0


def lsgan_g_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """E[(D(fake) − 1)²]."""
    return global_mean(tf.square(fake_logits - 1.0))


def hinge_d_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """E[relu(1 − D(real))] + E[relu(1 + D(fake))]."""
    return global_mean(tf.nn.relu(1.0 - real_logits)) + global_mean(tf.nn.relu(1.0 + fake_logits))


def gradient_penalty(
    critic: Callable[[tf.Tensor], tf.Tensor],
    real: tf.Tensor,
    fake: tf.Tensor,
    alpha: tf.Tensor,
) -> tf.Tensor:
    """E[(‖∇ₓ critic(x̂)‖₂ − 1)²] with x̂ = real + alpha·(fake − real), per sample.

    Args:
        critic: maps a batch like ``real`` to scores (B,) or (B, 1).
        real, fake: float32 batches of the same shape (B, ...).
        alpha: float32 (B,) interpolation weights in [0, 1], one per sample.

    Returns:
        A float32 scalar, differentiable with respect to the critic's variables.
    """
    alpha = tf.reshape(alpha, [-1] + [1] * (len(real.shape) - 1))
    interpolates = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = critic(interpolates)
    gradients = tape.gradient(scores, interpolates)
    squared_norms = tf.reduce_sum(tf.square(gradients), axis=list(range(1, len(real.shape))))
    slopes = tf.sqrt(squared_norms + _NORM_EPSILON)
    return global_mean(tf.square(slopes - 1.0))


def zero_centered_penalty(critic: Callable[[tf.Tensor], tf.Tensor], samples: tf.Tensor) -> tf.Tensor:
    """E[‖∇ₓ critic(x)‖₂²] over ``samples`` (Mescheder et al. 2018: R1 on real, R2 on fake).

    Args:
        critic: maps a batch like ``samples`` to scores (B,) or (B, 1).
        samples: float32 batch (B, ...).

    Returns:
        A float32 scalar (a global-batch mean), differentiable with respect to the critic's
        variables; the regularizer adds γ/2 times it to ``d_loss``.
    """
    with tf.GradientTape() as tape:
        tape.watch(samples)
        scores = critic(samples)
    gradients = tape.gradient(scores, samples)
    return global_mean(tf.reduce_sum(tf.square(gradients), axis=list(range(1, len(samples.shape)))))


@dataclasses.dataclass(frozen=True)
class GanLoss:
    """A GAN loss.

    Attributes:
        d_loss: (real_logits, fake_logits) → scalar, minimised by the discriminator.
        g_loss: fake_logits → scalar, minimised by the generator.
        uses_gradient_penalty: whether λ·GP is added to ``d_loss``.
        clips_weights: whether the critic's weights are clipped to ±0.01 after each update.
        is_wasserstein: whether −d_loss (without GP) estimates a Wasserstein distance.
    """

    d_loss: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
    g_loss: Callable[[tf.Tensor], tf.Tensor]
    uses_gradient_penalty: bool = False
    clips_weights: bool = False
    is_wasserstein: bool = False


LOSSES = {
    "wgan-gp": GanLoss(
        wasserstein_d_loss, wasserstein_g_loss, uses_gradient_penalty=True, is_wasserstein=True
    ),
    "wgan": GanLoss(wasserstein_d_loss, wasserstein_g_loss, clips_weights=True, is_wasserstein=True),
    "dcgan": GanLoss(dcgan_d_loss, dcgan_g_loss),
    "lsgan": GanLoss(lsgan_d_loss, lsgan_g_loss),
    "hinge": GanLoss(hinge_d_loss, wasserstein_g_loss),
}
