"""The update rules of GAN.train_step against their definitions, on a linear generator and critic
with plain gradient descent, where every update has a closed form."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttur_tf.gan import GAN, stack_critic_batches

H_G, H_D, BATCH = 0.1, 0.05, 4


def linear_gan(rule, n_critic=1, loss_scale=False):
    """Linear networks under plain gradient descent; ``loss_scale``: each optimizer behind a
    dynamic loss scale that starts at 16 and doubles after every step (as mixed_float16 runs
    have, changing less often)."""
    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, use_bias=False)])
    critic = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
    gan = GAN(generator, critic, noise_dim=2, loss="wgan-gp", regularizer="none",
              update_rule=rule, n_critic=n_critic)
    d_optimizer, g_optimizer = keras.optimizers.SGD(H_D), keras.optimizers.SGD(H_G)
    if loss_scale:
        d_optimizer, g_optimizer = (
            keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=16.0,
                                                dynamic_growth_steps=1)
            for optimizer in (d_optimizer, g_optimizer))
    gan.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer)
    return gan


REAL = np.random.default_rng(3).normal(size=(BATCH, 3)).astype(np.float32)


def train(gan, steps, start_step=1):
    """``steps`` steps from step ``start_step`` (1: past the original's skipped first update)."""
    gan.step.assign(start_step)
    batches = stack_critic_batches(tf.data.Dataset.from_tensors(REAL).repeat(), gan.n_critic)
    gan.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)


def weights(gan):
    return gan.generator.layers[0].kernel.numpy().astype(np.float64), \
        gan.discriminator.layers[0].kernel.numpy().astype(np.float64)


def noise_means(gan, step):
    """The mean noise of the generator's draw (0) and of critic update 0's draw (1) at ``step``."""
    gan.step.assign(step)
    return (gan.sample_noise(BATCH, draw=0).numpy().mean(axis=0, keepdims=True).astype(np.float64),
            gan.sample_noise(BATCH, draw=1).numpy().mean(axis=0, keepdims=True).astype(np.float64))


# g_loss = −mean(G(z) D) = −z̄ K_G K_D; d_loss = mean(G(z) D) − mean(x D) = (z̄ K_G − x̄) K_D.
def generator_gradient(z_g, k_d):
    return -z_g.T @ k_d.T


def critic_gradient(z_d, k_g):
    return (z_d @ k_g - REAL.astype(np.float64).mean(axis=0, keepdims=True)).T


def expected_step(rule, k_g, k_d, z_g, z_d):
    if rule == "alternating":
        k_g_new = k_g - H_G * generator_gradient(z_g, k_d)
        return k_g_new, k_d - H_D * critic_gradient(z_d, k_g_new)
    if rule == "simultaneous":
        return k_g - H_G * generator_gradient(z_g, k_d), k_d - H_D * critic_gradient(z_d, k_g)
    # extragradient: extrapolate both from the same point, then update with the gradients there
    k_g_look = k_g - H_G * generator_gradient(z_g, k_d)
    k_d_look = k_d - H_D * critic_gradient(z_d, k_g)
    return k_g - H_G * generator_gradient(z_g, k_d_look), k_d - H_D * critic_gradient(z_d, k_g_look)


@pytest.mark.parametrize("rule", ["alternating", "simultaneous", "extragradient"])
def test_one_step_of_each_rule_is_its_closed_form(rule):
    gan = linear_gan(rule)
    k_g, k_d = weights(gan)
    z_g, z_d = noise_means(gan, 1)
    train(gan, 1)
    expected = expected_step(rule, k_g, k_d, z_g, z_d)
    for actual, wanted in zip(weights(gan), expected):
        np.testing.assert_allclose(actual, wanted, rtol=1e-5, atol=1e-7)
    # Each optimizer updated its own network once (extragradient: twice, the extrapolation too).
    updates = 2 if rule == "extragradient" else 1
    assert int(gan.d_optimizer.iterations.numpy()) == int(gan.g_optimizer.iterations.numpy()) == updates


@pytest.mark.parametrize("loss_scale", [False, True], ids=["unscaled", "changing_loss_scale"])
def test_optimistic_updates_use_twice_the_gradient_minus_the_previous_one(loss_scale):
    gan = linear_gan("optimistic", loss_scale=loss_scale)
    k_g, k_d = weights(gan)
    noise = [noise_means(gan, step) for step in (1, 2, 3)]
    train(gan, 3)
    previous_g = previous_d = None
    for z_g, z_d in noise:  # alternating order, each gradient replaced by 2·g_t − g_{t−1}
        g = generator_gradient(z_g, k_d)
        k_g = k_g - H_G * (g if previous_g is None else 2 * g - previous_g)
        d = critic_gradient(z_d, k_g)
        k_d = k_d - H_D * (d if previous_d is None else 2 * d - previous_d)
        previous_g, previous_d = g, d
    for actual, wanted in zip(weights(gan), (k_g, k_d)):
        np.testing.assert_allclose(actual, wanted, rtol=1e-5, atol=1e-7)


def test_optimistic_remembers_gradients_unscaled_and_not_from_an_overflowed_step():
    gan = linear_gan("optimistic", loss_scale=True)  # the scale is 16 until a step is applied
    kernel = gan.discriminator.trainable_variables[0]
    gan._optimistic("d", [tf.fill(kernel.shape, 32.0)])
    np.testing.assert_array_equal(gan.previous_gradients["d"][0].numpy(), 2.0)
    gan._optimistic("d", [tf.fill(kernel.shape, np.inf)])  # skipped by the optimizer
    np.testing.assert_array_equal(gan.previous_gradients["d"][0].numpy(), 2.0)


def test_optimistic_resumes_exactly_from_its_checkpointed_previous_gradients(tmp_path):
    uninterrupted = linear_gan("optimistic")
    train(uninterrupted, 4)

    first = linear_gan("optimistic")
    train(first, 2)
    path = tf.train.Checkpoint(**first.training_state).save(str(tmp_path / "ckpt"))
    resumed = linear_gan("optimistic")
    tf.train.Checkpoint(**resumed.training_state).restore(path).assert_consumed()
    train(resumed, 2, start_step=3)
    for actual, wanted in zip(weights(resumed), weights(uninterrupted)):
        np.testing.assert_allclose(actual, wanted, rtol=1e-6)


@pytest.mark.parametrize("rule", ["simultaneous", "extragradient", "optimistic"])
def test_every_rule_keeps_n_critic_updates_and_the_skipped_first_generator_update(rule):
    gan = linear_gan(rule, n_critic=3)
    k_g, _ = weights(gan)
    train(gan, 1, start_step=0)
    np.testing.assert_array_equal(weights(gan)[0], k_g)  # step 0: no generator update
    extra = 1 if rule == "extragradient" else 0
    assert int(gan.d_optimizer.iterations.numpy()) == 3 + extra
    assert int(gan.g_optimizer.iterations.numpy()) == 0


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="update_rule must be one of"):
        linear_gan("gauss-seidel")


def test_a_run_checkpoints_the_optimistic_state(tmp_path):
    from test_training import image_npz_path, tiny_config
    from ttur_tf.training import train as train_run

    config = tiny_config(tmp_path / "run", image_npz_path(tmp_path), steps=2, model="dcgan",
                         update_rule="optimistic")
    train_run(config)
    names = tf.train.load_checkpoint(str(tmp_path / "run" / "checkpoints")).get_variable_to_shape_map()
    assert any(name.startswith("previous_g_gradient_0") for name in names)
    assert any(name.startswith("have_previous_d") for name in names)
