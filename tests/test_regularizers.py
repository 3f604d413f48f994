"""The discriminator's regularizers against closed forms on a linear critic, and through train_step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttur_tf.gan import GAN, stack_critic_batches
from ttur_tf.losses import gradient_penalty, zero_centered_penalty

W = np.array([[0.5], [-1.0], [2.0], [0.25]], np.float32)  # ‖w‖² = 5.3125


def linear_critic():
    critic = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    critic.layers[0].set_weights([W, np.zeros(1, np.float32)])
    return critic


def test_the_penalties_of_a_linear_critic_are_their_closed_forms():
    # D(x) = wᵀx: ∇ₓD = w everywhere, so R1 = R2 = ‖w‖² and GP = (‖w‖ − 1)² for any samples.
    critic, rng = linear_critic(), np.random.default_rng(0)
    real, fake = (tf.constant(rng.normal(size=(6, 4)), tf.float32) for _ in range(2))
    squared_norm = float(np.sum(W ** 2))
    assert float(zero_centered_penalty(critic, real)) == pytest.approx(squared_norm, rel=1e-6)
    assert float(zero_centered_penalty(critic, fake)) == pytest.approx(squared_norm, rel=1e-6)
    alpha = tf.constant(rng.uniform(size=6), tf.float32)
    assert float(gradient_penalty(critic, real, fake, alpha)) == pytest.approx(
        (np.sqrt(squared_norm) - 1) ** 2, rel=1e-5)


def one_step(regularizer, n_critic=1, **settings):
    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
    gan = GAN(generator, linear_critic(), noise_dim=2, loss="dcgan", regularizer=regularizer,
              n_critic=n_critic, **settings)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    data = np.random.default_rng(1).normal(size=(8, 4)).astype(np.float32)
    batches = stack_critic_batches(tf.data.Dataset.from_tensor_slices(data).batch(8).repeat(),
                                   n_critic)
    history = gan.fit(batches, steps_per_epoch=1, epochs=1, verbose=0).history
    return {name: values[-1] for name, values in history.items()}


@pytest.mark.parametrize("regularizer", ["r1", "r2"])
def test_r1_and_r2_add_half_gamma_times_the_squared_gradient_norm_to_d_loss(regularizer):
    plain, regularized = one_step("none"), one_step(regularizer, regularizer_weight=3.0)
    squared_norm = float(np.sum(W ** 2))  # the critic's weights when its first update is computed
    assert regularized["gradient_penalty"] == pytest.approx(squared_norm, rel=1e-5)
    assert regularized["d_loss"] - plain["d_loss"] == pytest.approx(1.5 * squared_norm, rel=1e-5)
    assert "gradient_penalty" not in plain


def test_gp_with_a_non_wasserstein_loss_uses_gp_weight():
    logs = one_step("gp", gp_weight=2.0)
    assert logs["gradient_penalty"] == pytest.approx((np.sqrt(np.sum(W ** 2)) - 1) ** 2, rel=1e-4)


def test_instance_noise_changes_what_the_critic_sees_and_anneals_to_zero():
    assert one_step("instance_noise", instance_noise=0.0) == one_step("none")
    assert one_step("instance_noise", instance_noise=0.5)["d_loss"] != one_step("none")["d_loss"]
    keras.utils.set_random_seed(0)
    gan = GAN(keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)]), linear_critic(),
              noise_dim=2, loss="dcgan", regularizer="instance_noise", instance_noise=0.4,
              anneal_steps=10)
    sigmas = []
    for step in (0, 5, 10, 20):
        gan.step.assign(step)
        sigmas.append(float(gan.instance_noise_sigma()))
    assert sigmas == pytest.approx([0.4, 0.2, 0.0, 0.0])


def test_the_default_regularizer_is_the_losss_own_and_unknown_ones_are_refused():
    def build(loss, regularizer=None):
        return GAN(keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)]), linear_critic(),
                   noise_dim=2, loss=loss, regularizer=regularizer)

    assert build("wgan-gp").regularizer == "gp" and build("dcgan").regularizer == "none"
    with pytest.raises(ValueError, match="regularizer must be one of"):
        build("dcgan", "dropout")


@pytest.mark.parametrize("regularizer", ["r1", "instance_noise"])
def test_every_regularizer_runs_inside_the_critic_loop(regularizer):
    logs = one_step(regularizer, n_critic=3)  # the tf.while_loop of n_critic > 1
    assert all(np.isfinite(value) for value in logs.values())
