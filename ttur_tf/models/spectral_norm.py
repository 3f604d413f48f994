"""Spectral normalization as Miyato et al. (ICLR 2018) define it and SNGAN, SAGAN and BigGAN train.

``SpectralNorm(layer)`` wraps a Keras layer with a kernel (Dense, Conv1D/2D/3D, their transposes,
Embedding). The layer's own kernel W stays the trainable variable; every call runs the layer with
W/σ(W) in its place (a ``keras.StatelessScope`` maps the kernel to that tensor for the call), so
the optimizer receives the reparametrised gradient

    ∂L/∂W = G/σ − ⟨G, W⟩/σ² · v uᵀ,   G = ∂L/∂(W/σ),

with σ = vᵀ W u on the kernel as a matrix of shape (-1, out) (out: the output channels), and u
(out,), v (rows,) held constant in the gradient. In a training call u and v come from
``power_iterations`` steps v ← W u/‖W u‖, u ← Wᵀ v/‖Wᵀ v‖ started at the stored u, and the new u
is written back (once per call, as PyTorch's ``spectral_norm`` does in train mode); in any other
call (samples, metrics) the stored u is used as it is, nothing is written, and σ = ‖W u‖ (the
same σ with v = W u/‖W u‖). A generator sampled in training mode (the WGAN-GP ResNets, for their
batch statistics) takes its power iteration from the stored u for the call, and ``GAN`` samples
inside a ``keras.StatelessScope``, so that nothing is written then either.

u is a non-trainable variable of the wrapper: checkpointed with the layer, and under
``tf.distribute`` aggregated ``ONLY_FIRST_REPLICA``, so every replica holds the first replica's
value (each replica computes the same one: u depends on W and u only, which all replicas share).

Not ``keras.layers.SpectralNormalization``: that layer assigns W/σ into the kernel on each training
call, so the optimizer trains the normalized kernel and receives G itself, with no gradient through
σ (``tests/test_spectral_norm.py`` shows the difference).
"""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = ["SpectralNorm", "spectrally_normalized"]

_TRANSPOSED = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose,
               keras.layers.Conv3DTranspose)
_WITH_KERNEL = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D,
                keras.layers.Conv3D, keras.layers.Embedding, *_TRANSPOSED)


def _normalized(vector: tf.Tensor, epsilon: float) -> tf.Tensor:
    return vector / tf.maximum(tf.norm(vector), epsilon)


class SpectralNorm(keras.layers.Wrapper):
    """``layer`` called with its kernel divided by the kernel's largest singular value.

    Args:
        layer: a Keras layer with a ``kernel`` (or, for Embedding, ``embeddings``) variable.
        power_iterations: power-iteration steps per training call (≥ 1; Miyato et al.: 1).
        epsilon: the smallest norm a vector is divided by.
    """

    def __init__(self, layer, power_iterations: int = 1, epsilon: float = 1e-12, **kwargs):
        # σ is computed in float32 under mixed precision: the wrapped layer casts W/σ itself.
        super().__init__(layer, **{"autocast": False, **kwargs})
        if int(power_iterations) < 1:
            raise ValueError(f"power_iterations must be at least 1, got {power_iterations}")
        self.power_iterations = int(power_iterations)
        self.epsilon = float(epsilon)

    @property
    def raw_kernel(self):
        """The wrapped layer's trainable kernel W (not normalized)."""
        if isinstance(self.layer, keras.layers.Embedding):
            return self.layer.embeddings
        return self.layer.kernel

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        if not hasattr(self.layer, "kernel") and not isinstance(self.layer,
                                                                keras.layers.Embedding):
            raise ValueError(f"SpectralNorm wraps a layer with a kernel; {self.layer.name} "
                             f"({type(self.layer).__name__}) has none")
        self._output_axis = -2 if isinstance(self.layer, _TRANSPOSED) else -1
        outputs = self.raw_kernel.shape[self._output_axis]
        self.u = self.add_weight(
            name="u", shape=(outputs,), trainable=False,
            initializer=keras.initializers.RandomNormal(),
            aggregation="only_first_replica")
        super().build(input_shape)

    def kernel_matrix(self, kernel: tf.Tensor) -> tf.Tensor:
        """``kernel`` as the matrix whose largest singular value σ is: (-1, output channels)."""
        if self._output_axis == -2:
            kernel = tf.experimental.numpy.swapaxes(kernel, -1, -2)
        return tf.reshape(kernel, (-1, kernel.shape[-1]))

    def power_iteration(self, matrix: tf.Tensor, u: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(u, v) after ``power_iterations`` steps from ``u`` on ``matrix`` (rows, out)."""
        v = None
        for _ in range(self.power_iterations):
            v = _normalized(tf.linalg.matvec(matrix, u), self.epsilon)
            u = _normalized(tf.linalg.matvec(matrix, v, transpose_a=True), self.epsilon)
        return u, v

    def sigma(self, training: bool = False) -> tf.Tensor:
        """σ(W) as a call with ``training`` computes it (a training call also writes u)."""
        return self._sigma(tf.convert_to_tensor(self.raw_kernel.value), training)

    def _sigma(self, kernel: tf.Tensor, training: bool) -> tf.Tensor:
        matrix = self.kernel_matrix(kernel)
        u = tf.convert_to_tensor(self.u.value)
        if training:
            u, v = self.power_iteration(tf.stop_gradient(matrix), u)
            self.u.assign(u)
        else:
            v = _normalized(tf.linalg.matvec(matrix, u), self.epsilon)
        u, v = tf.stop_gradient(u), tf.stop_gradient(v)
        return tf.tensordot(v, tf.linalg.matvec(matrix, u), 1)

    def call(self, inputs, training=None):
        kernel = tf.convert_to_tensor(self.raw_kernel.value)
        normalized = kernel / self._sigma(kernel, bool(training))
        with keras.StatelessScope(state_mapping=[(self.raw_kernel, normalized)]):
            return self.layer(inputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations,
                "epsilon": self.epsilon}


def spectrally_normalized(model: keras.Model) -> keras.Model:
    """A new functional ``model`` (fresh weights) in which every Dense, Conv and Embedding layer
    is wrapped in ``SpectralNorm`` (named ``<layer>_sn``), a layer that offers a
    ``spectrally_normalized_copy()`` (a block with kernels of its own, e.g. ``SelfAttention``)
    is replaced by that copy, and other layers are copied as they are."""

    def clone(layer):
        if hasattr(layer, "spectrally_normalized_copy"):
            return layer.spectrally_normalized_copy()
        copy = layer.__class__.from_config(layer.get_config())
        if isinstance(layer, _WITH_KERNEL):
            return SpectralNorm(copy, name=f"{layer.name}_sn")
        return copy

    return keras.models.clone_model(model, clone_function=clone)
