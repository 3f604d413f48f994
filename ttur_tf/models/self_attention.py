"""The self-attention block of SAGAN (Zhang, Goodfellow, Metaxas, Odena; ICML 2019, Section 3).

For a feature map x of N = H·W positions and C channels (channels last):

    f(x) = x W_f,  g(x) = x W_g,  h(x) = x W_h      (1×1 convolutions, C → C̄)
    s_ij = f(x_i)ᵀ g(x_j),  β_j,i = softmax over i of s_ij
    o_j = (Σ_i β_j,i h(x_i)) W_v                     (1×1 convolution, C̄ → C)
    y_i = γ · o_i + x_i,                             γ a learned scalar starting at 0

with C̄ = C / ``reduction`` (8 in the paper): at initialisation the block is the identity, and
the network learns how much non-local evidence to add. The convolutions have no bias, like the
paper's 1×1 weight matrices; with ``spectral_norm=True`` each is wrapped in ``SpectralNorm``
(as SAGAN does in both networks), which ``spectrally_normalized`` asks for.
"""

from __future__ import annotations

import keras

__all__ = ["SelfAttention"]


class SelfAttention(keras.layers.Layer):
    """(B, H, W, C) → (B, H, W, C): x + γ · attention(x), γ initialised to 0.

    Args:
        reduction: C / C̄, the channels of the query, key and value projections (8).
        spectral_norm: whether the four 1×1 convolutions are spectrally normalized.
    """

    def __init__(self, reduction: int = 8, spectral_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        if int(reduction) < 1:
            raise ValueError(f"reduction must be ≥ 1, got {reduction}")
        self.reduction = int(reduction)
        self.spectral_norm = bool(spectral_norm)

    def spectrally_normalized_copy(self) -> "SelfAttention":
        """A new block like this one with its convolutions spectrally normalized."""
        return SelfAttention.from_config({**self.get_config(), "spectral_norm": True})

    def build(self, input_shape):
        channels = input_shape[-1]
        reduced = max(1, channels // self.reduction)
        projection = dict(kernel_size=1, use_bias=False, kernel_initializer="glorot_uniform")
        self.query = self._projection(reduced, "query", **projection)  # f
        self.key = self._projection(reduced, "key", **projection)  # g
        self.value = self._projection(reduced, "value", **projection)  # h
        self.output_projection = self._projection(channels, "output", **projection)  # v
        for layer in (self.query, self.key, self.value):
            layer.build(input_shape)
        self.output_projection.build((*input_shape[:-1], reduced))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")
        super().build(input_shape)

    def _projection(self, filters: int, name: str, **settings):
        convolution = keras.layers.Conv2D(filters, name=name, **settings)
        if not self.spectral_norm:
            return convolution
        from ttur_tf.models.spectral_norm import SpectralNorm

        return SpectralNorm(convolution, name=f"{name}_sn")

    def call(self, x):
        ops = keras.ops
        batch, height, width = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]

        def positions(projection):
            features = projection(x)
            return ops.reshape(features, (batch, height * width, features.shape[-1]))

        queries, keys, values = positions(self.query), positions(self.key), positions(self.value)
        # scores[b, j, i] = f(x_i)ᵀ g(x_j); softmax over i for each output position j.
        attention = ops.softmax(ops.matmul(keys, ops.transpose(queries, (0, 2, 1))), axis=-1)
        attended = ops.matmul(attention, values)  # (B, N, C̄)
        attended = ops.reshape(attended, (batch, height, width, attended.shape[-1]))
        return x + ops.cast(self.gamma, x.dtype) * self.output_projection(attended)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction,
                "spectral_norm": self.spectral_norm}
