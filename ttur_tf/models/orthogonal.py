"""Orthogonal initialisation (Saxe et al. 2014) and BigGAN's orthogonal regularization.

BigGAN (Brock et al., ICLR 2019, Section 3.1, Eq. 3) penalises the correlations between the
filters of each generator kernel, not their norms:

    R_β(W) = β · ‖W Wᵀ ⊙ (1 − I)‖²_F,   W the kernel as a matrix (output filters, −1),

summed over the kernels (β = 1e-4 in BigGAN). ``orthogonally_initialize`` draws every kernel of a
network from ``keras.initializers.Orthogonal`` (its rows or columns orthonormal, the kernel
flattened to (−1, out)), as BigGAN initialises its networks.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ttur_tf.distribute import replica_count

__all__ = ["kernels_of", "orthogonal_penalty", "orthogonally_initialize"]


def kernels_of(network: keras.Model) -> list:
    """The trainable kernels of ``network``: every trainable variable of rank ≥ 2 (the raw kernel
    under ``SpectralNorm``; embeddings too), not biases or normalization scales."""
    return [variable for variable in network.trainable_variables if len(variable.shape) >= 2]


def _filters_as_rows(kernel: tf.Tensor) -> tf.Tensor:
    matrix = tf.reshape(kernel, (-1, kernel.shape[-1]))  # (inputs, filters)
    return tf.transpose(matrix)


def orthogonal_penalty(kernels) -> tf.Tensor:
    """Σ over ``kernels`` of ‖W Wᵀ ⊙ (1 − I)‖²_F (float32 scalar), W = (filters, −1). Under a
    ``tf.distribute`` strategy each replica returns its share (the sum over replicas is the
    penalty), like the losses' global means."""
    total = tf.constant(0.0)
    for kernel in kernels:
        rows = _filters_as_rows(tf.cast(tf.convert_to_tensor(kernel), tf.float32))
        gram = tf.linalg.matmul(rows, rows, transpose_b=True)
        off_diagonal = gram - tf.linalg.diag(tf.linalg.diag_part(gram))
        total += tf.reduce_sum(tf.square(off_diagonal))
    return total / tf.cast(replica_count(), tf.float32)


def orthogonally_initialize(network: keras.Model, seed: int) -> None:
    """Redraws every kernel of ``network`` (``kernels_of``) from an orthogonal initializer."""
    for index, kernel in enumerate(kernels_of(network)):
        initializer = keras.initializers.Orthogonal(seed=seed * 1000 + index)
        kernel.assign(initializer(kernel.shape, dtype=kernel.dtype))
