"""The two class-conditional parts of SNGAN-, SAGAN- and BigGAN-style networks.

* ``ConditionalBatchNormalization`` (de Vries et al. 2017, as Miyato & Koyama 2018 and BigGAN
  use it in the generator): batch normalization without its own scale and offset, followed by a
  scale and offset of the sample's class: y = (1 + Δγ[c]) · x̂ + β[c], with Δγ and β per-class
  embeddings (num_classes, channels). Zero-initialised embeddings (the default) start as plain
  batch normalization, as chainer's categorical batch norm (γ ones, β zeros); BigGAN-PyTorch
  draws them from N(0, 0.02).
* ``projection_logits`` (Miyato & Koyama 2018, "cGANs with projection discriminator"): the
  discriminator's logit of features φ(x) (B, C) and class c is ψ(φ(x)) + ⟨V[c], φ(x)⟩, with ψ a
  dense layer to one unit and V a class embedding (num_classes, C). ``--spectral_norm`` wraps V
  like every kernel (their SNEmbedID).
"""

from __future__ import annotations

import keras

from ttur_tf.models.fused_batch_norm import FusedBatchNormalization

__all__ = ["ConditionalBatchNormalization", "fresh_initializer", "projection_logits"]


def fresh_initializer(identifier):
    """A new initializer like ``identifier`` (a name, config or instance) with a seed of its
    own: Keras 3 draws an unseeded initializer's seed once, when it is made, so one instance
    used for two weights of one shape gives them equal values."""
    initializer = keras.initializers.get(identifier)
    config = initializer.get_config()
    if "seed" not in config:
        return initializer
    return type(initializer).from_config({**config, "seed": None})


class ConditionalBatchNormalization(keras.layers.Layer):
    """Batch norm of (B, ..., C) inputs with a per-class scale and offset; called on
    [inputs, labels int32 (B,)].

    Args:
        num_classes: number of classes (labels in [0, num_classes)).
        momentum, epsilon, synchronized: of the batch normalization (Keras's meaning).
        embeddings_initializer: of Δγ and β (default zeros: plain batch norm at the start).
    """

    def __init__(self, num_classes: int, momentum: float = 0.9, epsilon: float = 2e-5,
                 synchronized: bool = False, embeddings_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if num_classes < 1:
            raise ValueError(f"num_classes must be ≥ 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.momentum = momentum
        self.epsilon = epsilon
        self.synchronized = synchronized
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.normalize = FusedBatchNormalization(momentum=momentum, epsilon=epsilon,
                                                 synchronized=synchronized, center=False,
                                                 scale=False, name="batch_norm")

    def build(self, input_shape):
        channels = input_shape[0][-1]
        self.normalize.build(input_shape[0])
        self.gamma_offset = self.add_weight(
            shape=(self.num_classes, channels),
            initializer=fresh_initializer(self.embeddings_initializer), name="gamma_offset")
        self.beta = self.add_weight(
            shape=(self.num_classes, channels),
            initializer=fresh_initializer(self.embeddings_initializer), name="beta")

    def call(self, inputs, training=None):
        x, labels = inputs
        normalized = self.normalize(x, training=training)
        shape = [-1] + [1] * (len(x.shape) - 2) + [x.shape[-1]]
        gamma = 1.0 + keras.ops.reshape(keras.ops.take(self.gamma_offset, labels, axis=0), shape)
        beta = keras.ops.reshape(keras.ops.take(self.beta, labels, axis=0), shape)
        return normalized * keras.ops.cast(gamma, normalized.dtype) + keras.ops.cast(
            beta, normalized.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "momentum": self.momentum, "epsilon": self.epsilon,
                "synchronized": self.synchronized,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer)}


class _InnerProduct(keras.layers.Layer):
    """[a, b] (B, C) each → (B, 1): the row-wise inner product."""

    def call(self, inputs):
        a, b = inputs
        return keras.ops.sum(a * keras.ops.cast(b, a.dtype), axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)


def projection_logits(features, labels, num_classes: int, name: str = "projection",
                      kernel_initializer="glorot_uniform"):
    """ψ(φ) + ⟨V[labels], φ⟩ as (B,) logits, for functional Keras models.

    Args:
        features: φ(x), a (B, C) Keras tensor.
        labels: a (B,) int32 Keras tensor.
        num_classes: rows of V.
        name: prefix of the layers (``<name>_dense``, ``<name>_embedding``).
        kernel_initializer: of ψ and V (each its own draw).
    """
    unconditional = keras.layers.Dense(
        1, name=f"{name}_dense", kernel_initializer=fresh_initializer(kernel_initializer))(features)
    class_vectors = keras.layers.Embedding(
        num_classes, features.shape[-1],
        embeddings_initializer=fresh_initializer(kernel_initializer),
        name=f"{name}_embedding")(labels)
    projected = _InnerProduct(name=f"{name}_inner_product")([features, class_vectors])
    logits = keras.layers.Add(name=f"{name}_add")([unconditional, projected])
    return keras.layers.Reshape((), name="logits")(logits)
