"""SpectralNorm against Miyato et al.'s definition: σ, the reparametrised gradient, u's updates.

The reference gradient is computed in NumPy (float64) from the kernel W, the u and v of the call
and G = ∂L/∂(W/σ): ∂L/∂W = G/σ − ⟨G, W⟩/σ² · v uᵀ on W as a (-1, out) matrix.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import TWO_DEVICES
from ttur_tf.distribute import make_strategy
from ttur_tf.models.spectral_norm import SpectralNorm

RNG = np.random.default_rng(0)


def _matrix(kernel: np.ndarray) -> np.ndarray:
    return np.asarray(kernel, np.float64).reshape(-1, kernel.shape[-1])


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _one_power_iteration(matrix: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = _unit(matrix @ u)
    return _unit(matrix.T @ v), v


def _reparametrised_gradient(kernel, u_before, g):
    """∂L/∂W from G = ∂L/∂(W/σ), for one power iteration from ``u_before`` (float64)."""
    w = _matrix(kernel)
    u, v = _one_power_iteration(w, np.asarray(u_before, np.float64))
    sigma = v @ w @ u
    g = _matrix(g)
    return (g / sigma - np.sum(g * w) / sigma**2 * np.outer(v, u)).reshape(kernel.shape)


def _dense():
    layer = SpectralNorm(keras.layers.Dense(6))
    layer.build((None, 5))
    layer.layer.kernel.assign(RNG.normal(size=(5, 6)).astype(np.float32) * 3)
    return layer, RNG.normal(size=(4, 5)).astype(np.float32)


def _conv():
    layer = SpectralNorm(keras.layers.Conv2D(16, 3, padding="same"))
    layer.build((None, 7, 7, 4))
    layer.layer.kernel.assign(RNG.normal(size=(3, 3, 4, 16)).astype(np.float32) * 3)
    return layer, RNG.normal(size=(2, 7, 7, 4)).astype(np.float32)


def _layer_output_with(layer, kernel_value, inputs):
    """The wrapped layer's output with ``kernel_value`` as its kernel, computed without it."""
    inner = layer.layer
    if isinstance(inner, keras.layers.Dense):
        return tf.linalg.matmul(inputs, kernel_value) + inner.bias
    return tf.nn.conv2d(inputs, kernel_value, 1, "SAME") + inner.bias


@pytest.mark.parametrize("make", [_dense, _conv], ids=["dense", "conv2d"])
def test_the_raw_kernel_receives_the_reparametrised_gradient(make):
    layer, inputs = make()
    weights = RNG.normal(size=layer(inputs).shape).astype(np.float32)
    kernel, u_before = layer.layer.kernel.numpy(), layer.u.numpy()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(weights * layer(inputs, training=True))
    gradient = tape.gradient(loss, layer.layer.kernel.value).numpy()
    # G: the gradient with respect to the normalized kernel, as a plain tensor.
    u, v = _one_power_iteration(_matrix(kernel), u_before)
    normalized = tf.Variable((kernel / (v @ _matrix(kernel) @ u)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(weights * _layer_output_with(layer, normalized, inputs))
    g = tape.gradient(loss, normalized).numpy()
    expected = _reparametrised_gradient(kernel, u_before, g)
    assert np.abs(gradient - expected).max() <= 1e-4 * np.abs(expected).max()
    # σ is about 20 here: the reparametrised gradient is far from G itself.
    assert not np.allclose(gradient, g, rtol=0.1)


def test_keras_spectral_normalization_trains_the_normalized_kernel_with_no_gradient_through_sigma():
    """keras.layers.SpectralNormalization (Keras 3) fails the definition: documented here."""
    inner = keras.layers.Dense(6)
    layer = keras.layers.SpectralNormalization(inner)
    layer.build((None, 5))
    inner.kernel.assign(RNG.normal(size=(5, 6)).astype(np.float32) * 3)
    inputs = RNG.normal(size=(4, 5)).astype(np.float32)
    weights = RNG.normal(size=(4, 6)).astype(np.float32)
    kernel = inner.kernel.numpy()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(weights * layer(inputs, training=True))
    gradient = tape.gradient(loss, inner.kernel.value).numpy()
    # The call overwrote the trained kernel with W/σ̂ (σ̂ after one power iteration) ...
    scale = inner.kernel.numpy() / kernel
    np.testing.assert_allclose(scale, scale.flat[0], rtol=1e-5)
    assert scale.flat[0] < 0.2
    # ... and the gradient it receives is G = xᵀ · weights itself, not the reparametrised one.
    g = inputs.T.astype(np.float64) @ weights
    np.testing.assert_allclose(gradient, g, rtol=1e-4)
    u = _unit(RNG.normal(size=6))
    assert not np.allclose(gradient, _reparametrised_gradient(kernel, u, g), rtol=0.1)


@pytest.mark.parametrize("layer, input_shape", [
    (keras.layers.Dense(6), (None, 5)),
    (keras.layers.Conv2D(16, 3), (None, 7, 7, 4)),
    (keras.layers.Conv2DTranspose(8, 3), (None, 7, 7, 4)),
    (keras.layers.Embedding(10, 6), (None,)),
], ids=["dense", "conv2d", "conv2d_transpose", "embedding"])
def test_sigma_after_enough_iterations_is_the_largest_singular_value(layer, input_shape):
    wrapped = SpectralNorm(layer, power_iterations=200)
    wrapped.build(input_shape)
    kernel = wrapped.raw_kernel.numpy()
    if isinstance(layer, keras.layers.Conv2DTranspose):  # its kernel: (h, w, out, in)
        kernel = np.swapaxes(kernel, -1, -2)
    largest = np.linalg.svd(_matrix(kernel), compute_uv=False)[0]
    assert float(wrapped.sigma(training=True)) == pytest.approx(largest, rel=1e-4)
    # Its output is the layer's with W/σ: the normalized kernel has spectral norm 1.
    assert np.linalg.svd(_matrix(kernel) / largest, compute_uv=False)[0] == pytest.approx(1)


def test_u_moves_one_power_iteration_per_training_call_and_not_at_all_in_inference():
    layer, inputs = _dense()
    u = layer.u.numpy()
    layer(inputs, training=False)
    layer(inputs)
    np.testing.assert_array_equal(layer.u.numpy(), u)
    for _ in range(2):
        expected, _ = _one_power_iteration(_matrix(layer.layer.kernel.numpy()), u)
        layer(inputs, training=True)
        np.testing.assert_allclose(layer.u.numpy(), expected, rtol=1e-5, atol=1e-6)
        u = layer.u.numpy()


def test_inference_uses_the_stored_u():
    layer, inputs = _dense()
    layer(inputs, training=True)
    kernel, u = _matrix(layer.layer.kernel.numpy()), layer.u.numpy().astype(np.float64)
    sigma = np.linalg.norm(kernel @ u)  # vᵀWu with v = Wu/‖Wu‖
    expected = inputs @ (kernel / sigma) + layer.layer.bias.numpy()
    np.testing.assert_allclose(layer(inputs, training=False), expected, rtol=1e-5, atol=1e-5)


def test_u_is_in_the_checkpoint_and_a_restored_layer_continues_exactly(tmp_path):
    layer, inputs = _dense()
    layer(inputs, training=True)
    path = tf.train.Checkpoint(layer=layer).write(str(tmp_path / "ckpt"))
    restored = SpectralNorm(keras.layers.Dense(6))
    restored.build((None, 5))
    tf.train.Checkpoint(layer=restored).read(path).assert_consumed()
    np.testing.assert_array_equal(restored.u.numpy(), layer.u.numpy())
    np.testing.assert_array_equal(restored(inputs, training=True), layer(inputs, training=True))
    np.testing.assert_array_equal(restored.u.numpy(), layer.u.numpy())


def _train_two_steps(strategy, inputs, kernel, u):
    """Two SGD steps of a wrapped Dense on ``inputs`` (8, 5) under ``strategy``; returns each
    replica's u and the kernel."""
    with strategy.scope():
        layer = SpectralNorm(keras.layers.Dense(6))
        layer.build((None, 5))
        layer.layer.kernel.assign(kernel)
        layer.u.assign(u)
        optimizer = keras.optimizers.SGD(0.1)
        optimizer.build(layer.trainable_variables)

    @tf.function
    def step(batch):
        def replica_step(rows):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(layer(rows, training=True) ** 2) / 8
            gradients = tape.gradient(loss, layer.trainable_variables)
            optimizer.apply(gradients, layer.trainable_variables)
        strategy.run(replica_step, (batch,))

    batches = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(inputs).batch(8).repeat(2))
    for batch in batches:
        step(batch)
    return ([value.numpy() for value in strategy.experimental_local_results(layer.u.value)],
            layer.layer.kernel.numpy())


def test_two_replicas_hold_the_same_u_as_one_device():
    inputs = RNG.normal(size=(8, 5)).astype(np.float32)
    kernel = RNG.normal(size=(5, 6)).astype(np.float32)
    u = _unit(RNG.normal(size=6)).astype(np.float32)
    (one_u,), one_kernel = _train_two_steps(tf.distribute.OneDeviceStrategy("/cpu:0"), inputs,
                                            kernel, u)
    # The process's one mirrored strategy over these devices (a second would share its
    # collective keys: make_strategy's docstring).
    two_u, two_kernel = _train_two_steps(
        make_strategy("mirrored", tuple(TWO_DEVICES.split(","))), inputs, kernel, u)
    assert len(two_u) == 2
    np.testing.assert_array_equal(two_u[0], two_u[1])
    np.testing.assert_allclose(two_u[0], one_u, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(two_kernel, one_kernel, rtol=1e-5, atol=1e-6)


def test_a_layer_without_a_kernel_is_refused_with_its_name():
    with pytest.raises(ValueError, match="has none"):
        SpectralNorm(keras.layers.ReLU(name="relu")).build((None, 3))


def test_under_mixed_precision_sigma_and_u_stay_float32_and_the_layer_computes_in_bfloat16():
    layer = SpectralNorm(keras.layers.Dense(6, dtype="mixed_bfloat16"))
    layer.build((None, 5))
    inputs = RNG.normal(size=(4, 5)).astype(np.float32)
    outputs = layer(inputs, training=True)
    assert outputs.dtype == tf.bfloat16 and layer.u.dtype == "float32"
    kernel, u = _matrix(layer.layer.kernel.numpy()), layer.u.numpy().astype(np.float64)
    expected = inputs @ (kernel / np.linalg.norm(kernel @ u))
    np.testing.assert_allclose(tf.cast(layer(inputs), tf.float32), expected, rtol=0.05,
                               atol=0.05)
