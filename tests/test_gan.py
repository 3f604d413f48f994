"""The TTUR train_step: two optimizers, each touching only its own network; n_critic; the order."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttur_tf.gan import GAN, stack_critic_batches

NOISE_DIM, DATA_DIM, BATCH = 3, 4, 8


def tiny_networks(seed=0):
    keras.utils.set_random_seed(seed)
    generator = keras.Sequential([keras.Input((NOISE_DIM,)), keras.layers.Dense(DATA_DIM)])
    discriminator = keras.Sequential(
        [keras.Input((DATA_DIM,)), keras.layers.Dense(1), keras.layers.Reshape(())]
    )
    return generator, discriminator


def tiny_gan(loss="wgan-gp", n_critic=1, d_lr=3e-4, g_lr=1e-4, gp_weight=10.0, seed=0):
    generator, discriminator = tiny_networks(seed)
    gan = GAN(generator, discriminator, noise_dim=NOISE_DIM, loss=loss, n_critic=n_critic,
              gp_weight=gp_weight, seed=seed)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(d_lr, beta_1=0.0, beta_2=0.9, epsilon=1e-8),
        g_optimizer=keras.optimizers.Adam(g_lr, beta_1=0.0, beta_2=0.9, epsilon=1e-8),
    )
    return gan


def real_batches(n_critic, seed=1):
    """One step's real data: (B, n_critic, D), critic update i on ``[:, i]``."""
    return tf.constant(np.random.default_rng(seed).normal(2.0, 1.0, (BATCH, n_critic, DATA_DIM)),
                       tf.float32)


def weights(model):
    return [v.numpy().copy() for v in model.trainable_variables]


def changed(before, model):
    return any(not np.array_equal(a, v.numpy()) for a, v in zip(before, model.trainable_variables))


def test_first_step_trains_only_the_critic_then_each_step_trains_both():
    gan = tiny_gan()
    g_before, d_before = weights(gan.generator), weights(gan.discriminator)
    gan.train_step(real_batches(1))
    assert not changed(g_before, gan.generator)  # the original skips G at iteration 0
    assert changed(d_before, gan.discriminator)
    assert int(gan.g_optimizer.iterations) == 0 and int(gan.d_optimizer.iterations) == 1
    g_before = weights(gan.generator)
    gan.train_step(real_batches(1, seed=2))
    assert changed(g_before, gan.generator)
    assert int(gan.g_optimizer.iterations) == 1 and int(gan.d_optimizer.iterations) == 2
    assert int(gan.step) == 2


def test_n_critic_5_gives_5_discriminator_updates_per_generator_update():
    gan = tiny_gan(n_critic=5)
    for seed in range(3):
        gan.train_step(real_batches(5, seed))
    assert int(gan.d_optimizer.iterations) == 15
    assert int(gan.g_optimizer.iterations) == 2


@pytest.mark.parametrize("frozen", ["discriminator", "generator"])
def test_each_network_changes_only_through_its_own_optimizer(frozen):
    # A learning rate of 0 in one optimizer must freeze exactly that optimizer's network.
    gan = tiny_gan(d_lr=0.0 if frozen == "discriminator" else 3e-4,
                   g_lr=0.0 if frozen == "generator" else 1e-4)
    before = {"generator": weights(gan.generator), "discriminator": weights(gan.discriminator)}
    for seed in range(3):
        gan.train_step(real_batches(1, seed))
    other = "generator" if frozen == "discriminator" else "discriminator"
    assert not changed(before[frozen], getattr(gan, frozen))
    assert changed(before[other], getattr(gan, other))


def test_each_optimizer_holds_slots_for_its_own_network_only_with_its_own_rate():
    gan = tiny_gan(d_lr=3e-4, g_lr=1e-4)
    gan.train_step(real_batches(1))
    gan.train_step(real_batches(1, 2))
    for optimizer, network in [(gan.d_optimizer, gan.discriminator), (gan.g_optimizer, gan.generator)]:
        slot_shapes = sorted(tuple(v.shape) for v in optimizer.variables if len(v.shape) > 0)
        own_shapes = sorted(2 * [tuple(v.shape) for v in network.trainable_variables])
        assert slot_shapes == own_shapes  # one momentum and one velocity per own variable
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(3e-4)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(1e-4)


def test_critic_updates_use_their_own_real_batches():
    first, second = real_batches(1, seed=1), real_batches(1, seed=2)
    same, different = tiny_gan(n_critic=2), tiny_gan(n_critic=2)
    same.train_step(tf.concat([first, first], axis=1))
    different.train_step(tf.concat([first, second], axis=1))
    assert changed(weights(same.discriminator), different.discriminator)


def test_the_gradient_penalty_reaches_the_critic_weights():
    # SGD, not Adam: Adam's first step has size lr whatever the gradient's magnitude.
    without, with_penalty = tiny_gan(gp_weight=0.0), tiny_gan(gp_weight=10.0)
    for gan in (without, with_penalty):
        gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
    without.train_step(real_batches(1))
    metrics = with_penalty.train_step(real_batches(1))
    assert float(metrics["gradient_penalty"]) > 0
    assert changed(weights(without.discriminator), with_penalty.discriminator)


def test_wgan_clips_the_critic_weights():
    gan = tiny_gan(loss="wgan")
    gan.discriminator.trainable_variables[0].assign(tf.fill([DATA_DIM, 1], 5.0))
    gan.train_step(real_batches(1))
    for variable in gan.discriminator.trainable_variables:
        assert np.max(np.abs(variable.numpy())) <= 0.01 + 1e-7


@pytest.mark.parametrize("loss, expected", [
    ("wgan-gp", {"d_loss", "g_loss", "gradient_penalty", "wasserstein"}),
    ("wgan", {"d_loss", "g_loss", "wasserstein"}),
    ("dcgan", {"d_loss", "g_loss"}),
    ("lsgan", {"d_loss", "g_loss"}),
])
def test_metrics_per_loss(loss, expected):
    metrics = tiny_gan(loss=loss).train_step(real_batches(1))
    assert set(metrics) == expected
    assert all(np.isfinite(float(value)) for value in metrics.values())


def test_fit_on_stacked_batches_runs_the_same_steps():
    gan = tiny_gan(n_critic=2)
    batches = tf.data.Dataset.from_tensor_slices(real_batches(8)[:, 0]).batch(BATCH).repeat()
    gan.fit(stack_critic_batches(batches, 2), steps_per_epoch=3, epochs=1, verbose=0, shuffle=False)
    assert int(gan.step) == 3 and int(gan.d_optimizer.iterations) == 6


def test_wrongly_stacked_data_is_a_clear_error():
    with pytest.raises(ValueError, match="stack_critic_batches"):
        tiny_gan(n_critic=5).train_step(real_batches(1))


def test_one_optimizer_for_both_networks_is_refused():
    generator, discriminator = tiny_networks()
    gan = GAN(generator, discriminator, noise_dim=NOISE_DIM)
    optimizer = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two optimizer objects"):
        gan.compile(d_optimizer=optimizer, g_optimizer=optimizer)


def test_sampling_in_batches_gives_the_requested_number():
    gan = tiny_gan()
    batches = list(gan.sample_batches(25, 10, np.random.default_rng(0)))
    assert [b.shape for b in batches] == [(10, DATA_DIM), (10, DATA_DIM), (5, DATA_DIM)]


def test_mixed_precision_is_warned_about():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        with pytest.warns(UserWarning, match="float32"):
            tiny_gan()
    finally:
        keras.mixed_precision.set_global_policy("float32")
