"""GAN losses against closed forms, and the gradient penalty on a linear critic."""

import numpy as np
import pytest
import tensorflow as tf

from ttur_tf import losses


def constant(values):
    return tf.constant(np.asarray(values, np.float32))


def test_wasserstein_losses():
    real, fake = constant([1.0, 3.0]), constant([0.0, -2.0])
    assert float(losses.wasserstein_d_loss(real, fake)) == pytest.approx(-1.0 - 2.0)
    assert float(losses.wasserstein_g_loss(fake)) == pytest.approx(1.0)


def test_dcgan_losses_are_binary_cross_entropies():
    real, fake = constant([0.5, -1.0]), constant([2.0, 0.0])
    softplus = lambda x: np.log1p(np.exp(x))  # BCE(x, 1) = softplus(−x); BCE(x, 0) = softplus(x)
    expected_d = (softplus(-np.array([0.5, -1.0])).mean() + softplus(np.array([2.0, 0.0])).mean()) / 2
    assert float(losses.dcgan_d_loss(real, fake)) == pytest.approx(expected_d, rel=1e-6)
    assert float(losses.dcgan_g_loss(fake)) == pytest.approx(softplus(-np.array([2.0, 0.0])).mean(), rel=1e-6)


def test_lsgan_losses():
    real, fake = constant([1.0, 3.0]), constant([0.0, 2.0])
    # (E[(D(real) − 1)²] + E[D(fake)²]) / 2 with (real − 1)² = [0, 4] and fake² = [0, 4].
    assert float(losses.lsgan_d_loss(real, fake)) == pytest.approx((np.mean([0, 4]) + np.mean([0, 4])) / 2)
    # E[(D(fake) − 1)²] with (fake − 1)² = [1, 1].
    assert float(losses.lsgan_g_loss(fake)) == pytest.approx(np.mean([1, 1]))


def test_hinge_losses():
    real, fake = constant([0.5, 2.0, -1.0]), constant([-3.0, 0.0, 1.0])
    # relu(1 − real) = [0.5, 0, 2]; relu(1 + fake) = [0, 1, 2].
    assert float(losses.hinge_d_loss(real, fake)) == pytest.approx(2.5 / 3 + 3 / 3)
    assert float(losses.LOSSES["hinge"].g_loss(fake)) == pytest.approx(2 / 3)  # −E[D(fake)]
    hinge = losses.LOSSES["hinge"]
    assert not (hinge.uses_gradient_penalty or hinge.clips_weights or hinge.is_wasserstein)


@pytest.mark.parametrize("weight_norm", [0.5, 1.0, 3.0])
def test_gradient_penalty_of_a_linear_critic_is_its_weight_norm_closed_form(weight_norm):
    # D(x) = <w, x>: ∇D = w everywhere, so GP = (‖w‖ − 1)² whatever the interpolation.
    rng = np.random.default_rng(0)
    direction = rng.normal(size=(4, 4, 3)).astype(np.float32)
    weights = tf.constant(direction / np.linalg.norm(direction) * weight_norm)
    critic = lambda x: tf.reduce_sum(x * weights, axis=[1, 2, 3])
    real, fake = constant(rng.normal(size=(8, 4, 4, 3))), constant(rng.normal(size=(8, 4, 4, 3)))
    alpha = tf.random.uniform([8])
    penalty = losses.gradient_penalty(critic, real, fake, alpha)
    assert float(penalty) == pytest.approx((weight_norm - 1.0) ** 2, abs=1e-5)


def test_gradient_penalty_gradient_is_finite_when_the_critic_gradient_is_zero():
    scale = tf.Variable(0.0)
    critic = lambda x: scale * tf.reduce_sum(x, axis=[1, 2, 3])  # ∇ₓD = 0 at scale 0
    real, fake = tf.zeros([4, 2, 2, 3]), tf.ones([4, 2, 2, 3])
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(critic, real, fake, tf.fill([4], 0.5))
    gradient = tape.gradient(penalty, scale)
    assert float(penalty) == pytest.approx(1.0, abs=1e-5)
    assert np.isfinite(float(gradient))


def test_registry_flags_match_the_original_modes():
    assert losses.LOSSES["wgan-gp"].uses_gradient_penalty and not losses.LOSSES["wgan-gp"].clips_weights
    assert losses.LOSSES["wgan"].clips_weights and not losses.LOSSES["wgan"].uses_gradient_penalty
    assert not losses.LOSSES["dcgan"].is_wasserstein and not losses.LOSSES["lsgan"].is_wasserstein
