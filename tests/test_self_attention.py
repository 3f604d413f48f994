"""SAGAN's self-attention block against its definition, computed in NumPy."""

import numpy as np
import pytest

from ttur_tf.models.self_attention import SelfAttention

RNG = np.random.default_rng(0)


def _softmax(scores, axis):
    exponentials = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return exponentials / exponentials.sum(axis=axis, keepdims=True)


def test_it_starts_as_the_identity():
    x = RNG.normal(size=(2, 4, 4, 16)).astype(np.float32)
    layer = SelfAttention()
    np.testing.assert_array_equal(layer(x), x)
    assert float(layer.gamma.numpy()) == 0.0


def test_it_adds_gamma_times_the_attention_over_positions_of_the_papers_formula():
    x = RNG.normal(size=(2, 3, 5, 16)).astype(np.float64)
    layer = SelfAttention(reduction=8)
    layer.build(x.shape)
    layer.gamma.assign(0.7)
    w_f, w_g, w_h = (layer.query.kernel.numpy()[0, 0], layer.key.kernel.numpy()[0, 0],
                     layer.value.kernel.numpy()[0, 0])  # (C, C̄) each
    w_v = layer.output_projection.kernel.numpy()[0, 0]  # (C̄, C)
    assert w_f.shape == (16, 2) and w_v.shape == (2, 16)
    rows = x.reshape(2, 15, 16)  # N = 15 positions
    s = np.einsum("bic,bjc->bij", rows @ w_f, rows @ w_g)  # s_ij = f(x_i)ᵀ g(x_j)
    beta = _softmax(s, axis=1)  # β_j,i: softmax over i
    o = np.einsum("bij,bic->bjc", beta, rows @ w_h) @ w_v
    expected = (x.reshape(2, 15, 16) + 0.7 * o).reshape(x.shape)
    np.testing.assert_allclose(layer(x.astype(np.float32)), expected, rtol=1e-4, atol=1e-5)


def test_a_reduction_below_one_is_refused():
    with pytest.raises(ValueError, match="reduction must be ≥ 1"):
        SelfAttention(reduction=0)


def test_spectral_norm_of_a_network_reaches_the_blocks_convolutions():
    import keras

    from ttur_tf.models.spectral_norm import SpectralNorm, spectrally_normalized

    inputs = keras.Input((4, 4, 16))
    network = keras.Model(inputs, SelfAttention(name="attention")(inputs))
    block = spectrally_normalized(network).get_layer("attention")
    block(np.zeros((1, 4, 4, 16), np.float32), training=True)
    projections = (block.query, block.key, block.value, block.output_projection)
    assert all(isinstance(projection, SpectralNorm) for projection in projections)
