"""The WGAN-GP ResNet critic's two heads: one score per image, or the original's reshape that
mixes four 32×32 images into each score (the paper's CIFAR-10 runs)."""

import numpy as np
import pytest
import tensorflow as tf

from ttur_tf.gan import GAN
from ttur_tf.losses import gradient_penalty
from ttur_tf.models import wgan_gp_resnet
from ttur_tf.training import TrainConfig, build_gan


def critic_pair(image_size, dim=2):
    """A per-image critic and an original-head critic with the same body weights, the original
    head's output weights tied to four copies of the per-image head's."""
    per_image = wgan_gp_resnet.build_discriminator(image_size, dim, head="per_image")
    original = wgan_gp_resnet.build_discriminator(image_size, dim, head="original")
    per_image_layers = {layer.name: layer for layer in per_image.layers}
    for layer in original.layers:
        if layer.name == "output_dense":
            kernel, bias = per_image_layers["output_dense"].get_weights()
            cells = 16 // (image_size // 16) ** 2
            layer.set_weights([np.tile(kernel, (cells, 1)), bias + 1.0])
        elif layer.weights:
            layer.set_weights(per_image_layers[layer.name].get_weights())
    return per_image, original


def test_at_32_pixels_each_original_score_is_four_per_image_scores_minus_three_biases():
    per_image, original = critic_pair(32)
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)), tf.float32)
    bias = float(original.get_layer("output_dense").bias.numpy()[0])
    mixed = original(images).numpy()
    single = per_image(images).numpy() + 1.0  # the per-image head with the same bias
    assert mixed.shape == (2,) and single.shape == (8,)
    np.testing.assert_allclose(mixed, single.reshape(2, 4).sum(axis=1) - 3 * bias, rtol=1e-5,
                               atol=1e-5)
    assert wgan_gp_resnet.images_per_score(32, "original") == 4


def test_at_64_pixels_the_original_head_is_the_per_image_head():
    per_image, original = critic_pair(64)
    images = tf.constant(np.random.default_rng(1).uniform(-1, 1, (3, 64, 64, 3)), tf.float32)
    np.testing.assert_allclose(original(images).numpy(), per_image(images).numpy() + 1.0,
                               rtol=1e-5, atol=1e-5)
    assert wgan_gp_resnet.images_per_score(64, "original") == 1


def test_the_gradient_penalty_stays_per_image_with_mixed_scores():
    _, original = critic_pair(32)
    rng = np.random.default_rng(2)
    real, fake = (tf.constant(rng.uniform(-1, 1, (4, 32, 32, 3)), tf.float32) for _ in range(2))
    alpha = tf.constant(rng.uniform(0, 1, 4), tf.float32)
    interpolates = real + tf.reshape(alpha, (-1, 1, 1, 1)) * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        score = original(interpolates)[0]  # one score, four images
    norms = tf.norm(tf.reshape(tape.gradient(score, interpolates), (4, -1)), axis=1)
    expected = float(tf.reduce_mean(tf.square(norms - 1.0)))
    assert float(gradient_penalty(original, real, fake, alpha)) == pytest.approx(expected, rel=1e-4)


def test_the_original_head_trains_through_the_same_train_step():
    config = TrainConfig("unused", "unused", dim=2, batch_size=8, critic_head="original")
    gan = build_gan(config, image_size=32)
    assert isinstance(gan, GAN) and gan.discriminator.output_shape == (None,)
    real = tf.constant(np.random.default_rng(3).uniform(-1, 1, (8, 1, 32, 32, 3)), tf.float32)
    metrics = gan.train_step(real)
    assert np.isfinite(float(metrics["d_loss"]))


def test_sizes_and_batches_the_original_head_cannot_take_are_refused():
    with pytest.raises(ValueError, match="at 48×48 .* cuts images apart"):
        wgan_gp_resnet.build_discriminator(48, 2, head="original")
    with pytest.raises(ValueError, match=r"batch_size \(6\) must be a multiple of 4"):
        build_gan(TrainConfig("unused", "unused", dim=2, batch_size=6, critic_head="original"),
                  image_size=32)
