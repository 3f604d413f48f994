"""--mixed_precision: both networks compute in 16 bits, variables, scores and losses stay float32,
and a few steps land within a stated tolerance of float32 training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttur_tf.gan import stack_critic_batches
from ttur_tf.training import TrainConfig, build_gan

STEPS, N_CRITIC, BATCH = 3, 2, 8


def trained(model, loss, mixed_precision):
    """A tiny GAN after STEPS steps on fixed data, and the losses it logged."""
    config = TrainConfig("unused", "unused", model=model, loss=loss, dim=8, batch_size=BATCH,
                         seq_len=8, n_critic=N_CRITIC, mixed_precision=mixed_precision)
    rng = np.random.default_rng(0)
    if model == "language":
        data, sizes = tf.one_hot(rng.integers(0, 7, (64, 8)), 7), dict(vocab_size=7)
    else:
        data, sizes = rng.uniform(-1, 1, (64, 16, 16, 3)).astype(np.float32), dict(image_size=16)
    keras.utils.set_random_seed(0)
    gan = build_gan(config, **sizes)
    batches = tf.data.Dataset.from_tensor_slices(data).batch(BATCH, drop_remainder=True).repeat()
    history = gan.fit(stack_critic_batches(batches, N_CRITIC), steps_per_epoch=STEPS, epochs=1,
                      verbose=0).history
    return gan, {name: values[-1] for name, values in history.items()}


def assert_within_tolerance_of_float32(model, loss, mixed_precision):
    """The tolerance: every logged loss within 10% (or 0.02) of float32's; every trainable
    weight within 4·(updates)·lr of float32's. Adam moves a weight by about ±lr per update
    whatever its gradient's size (a little more when the gradient's sign changes between
    updates), so a gradient near zero whose sign 16-bit rounding flips moves the weight the
    other way: a few lr per update is what rounding can do; a wrong loss scale or dtype moves
    weights (and losses) by far more."""
    reference, reference_losses = trained(model, loss, "off")
    gan, losses = trained(model, loss, mixed_precision)
    for name, value in reference_losses.items():
        assert losses[name] == pytest.approx(value, rel=0.1, abs=0.02), name
    for network, optimizer, updates in ((reference.discriminator, reference.d_optimizer, STEPS * N_CRITIC),
                                        (reference.generator, reference.g_optimizer, STEPS - 1)):
        other = gan.discriminator if network is reference.discriminator else gan.generator
        bound = 4 * updates * float(optimizer.learning_rate.numpy()) + 1e-6
        for expected, actual in zip(network.trainable_weights, other.trainable_weights):
            np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=0, atol=bound,
                                       err_msg=expected.path)
    return gan


@pytest.mark.parametrize("model, loss, mixed_precision", [
    ("dcgan", "dcgan", "mixed_bfloat16"),
    ("dcgan", "dcgan", "mixed_float16"),  # (the ResNet's dtypes: the next test)
    pytest.param("language", "wgan-gp", "mixed_bfloat16", marks=[pytest.mark.slow, pytest.mark.heavy]),
])
def test_a_few_mixed_precision_steps_stay_within_tolerance_of_float32(model, loss, mixed_precision):
    gan = assert_within_tolerance_of_float32(model, loss, mixed_precision)
    compute = mixed_precision.removeprefix("mixed_")
    assert {layer.dtype_policy.compute_dtype for layer in gan.generator.layers
            if layer.weights} == {compute}
    assert {weight.dtype for weight in gan.generator.weights + gan.discriminator.weights} == {"float32"}


def test_scores_samples_and_losses_leave_the_networks_as_float32():
    config = TrainConfig("unused", "unused", model="resnet", dim=8, batch_size=BATCH,
                         mixed_precision="mixed_bfloat16")
    gan = build_gan(config, image_size=16)
    assert keras.config.dtype_policy().name == "float32"  # the policy is restored after building
    fake = gan._fake(gan.sample_noise(BATCH))
    assert fake.dtype == tf.float32 and gan._scores(fake).dtype == tf.float32
    assert gan.generate(gan.numpy_noise(np.random.default_rng(0), 2)).dtype == np.float32


@pytest.mark.heavy  # 15 s
def test_float16_skips_the_steps_whose_gradients_overflow_and_lowers_the_loss_scale():
    # The language critic's gradients at the initial loss scale 2^15 overflow float16: those
    # updates are skipped (not applied as inf/NaN) and the scale halves until they fit.
    gan, losses = trained("language", "wgan-gp", "mixed_float16")
    assert gan.d_optimizer.iterations.numpy() < STEPS * N_CRITIC
    assert gan.d_optimizer.dynamic_scale.numpy() < 2.0 ** 15
    assert all(np.isfinite(weight.numpy()).all() for weight in gan.weights)
    assert all(np.isfinite(value) for value in losses.values())
