"""FusedBatchNormalization computes what keras.layers.BatchNormalization computes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttur_tf.models.fused_batch_norm import FusedBatchNormalization

RNG = np.random.default_rng(0)


def _pair(**settings):
    fused = FusedBatchNormalization(**settings)
    keras_layer = keras.layers.BatchNormalization(**settings)
    for layer in (fused, keras_layer):
        layer.build((None, 5, 5, 3))
    for source, target in zip(keras_layer.weights, fused.weights):
        source.assign(RNG.normal(size=source.shape).astype(np.float32) ** 2 + 0.5)
        target.assign(source.numpy())
    return fused, keras_layer


@pytest.mark.parametrize("settings", [dict(momentum=0.9, epsilon=1e-5),
                                      dict(momentum=0.99, epsilon=1e-3, scale=False)])
def test_training_outputs_gradients_and_moving_statistics_equal_keras(settings):
    fused, keras_layer = _pair(**settings)
    x = tf.constant(RNG.normal(3, 2, size=(4, 5, 5, 3)).astype(np.float32))
    weights = tf.constant(RNG.normal(size=(4, 5, 5, 3)).astype(np.float32))
    results = []
    for layer in (fused, keras_layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(weights * layer(x, training=True))
        gradients = tape.gradient(loss, [x, *layer.trainable_variables])
        results.append((loss, gradients, [v.numpy() for v in layer.non_trainable_variables]))
    (loss, gradients, moving), (keras_loss, keras_gradients, keras_moving) = results
    np.testing.assert_allclose(loss, keras_loss, rtol=1e-4, atol=1e-3)
    for ours, theirs in zip(gradients, keras_gradients):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    for ours, theirs in zip(moving, keras_moving):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_inference_and_other_ranks_are_keras_own():
    fused, keras_layer = _pair(momentum=0.9, epsilon=1e-5)
    x = RNG.normal(size=(4, 5, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(fused(x, training=False), keras_layer(x, training=False))
    dense = FusedBatchNormalization()
    rows = RNG.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(dense(rows, training=True),
                               keras.layers.BatchNormalization()(rows, training=True), rtol=1e-5)


def test_under_mixed_precision_it_normalizes_in_float32_and_returns_bfloat16():
    layer = FusedBatchNormalization(dtype="mixed_bfloat16")
    x = RNG.normal(5, 3, size=(4, 5, 5, 3)).astype(np.float32)
    outputs = layer(tf.cast(x, tf.bfloat16), training=True)
    assert outputs.dtype == tf.bfloat16
    mean = tf.reduce_mean(tf.cast(outputs, tf.float32), axis=(0, 1, 2))
    np.testing.assert_allclose(mean, 0, atol=0.05)
