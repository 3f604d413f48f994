"""Global sum pooling, SNGAN's, SAGAN's and BigGAN's last step before the discriminator's logit."""

from __future__ import annotations

import keras

__all__ = ["SumOverPositions"]


class SumOverPositions(keras.layers.Layer):
    """(B, H, W, C) → (B, C): the sum over positions."""

    def call(self, x):
        return keras.ops.sum(x, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
