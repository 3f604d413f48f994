"""The WGAN-GP paper's "good" ResNet generator and critic, as the TTUR image experiments use them.

Reproduces ``GoodGenerator`` / ``GoodDiscriminator`` and ``ResidualBlock`` of bioinf-jku/TTUR
``WGAN_GP/gan_64x64_FID.py`` (from igul222/improved_wgan_training), channels last:

* Generator: noise (B, 128) → dense → (s, s, 8·dim), s = image_size / 16 → four up-sampling
  residual blocks (8·dim, 4·dim, 2·dim, dim) → batch norm → ReLU → 3×3 conv to RGB → tanh.
* Critic: 3×3 conv to dim → four down-sampling residual blocks (2·dim, 4·dim, 8·dim, 8·dim) →
  flatten → dense → one score per image (B,). Its normalisation is layer norm over (H, W, C) with a
  per-channel scale and offset for ``wgan-gp`` (batch norm would make the per-sample gradient
  penalty depend on the rest of the batch), batch norm for the other losses.
* Up-sampling is nearest-neighbour ×2 then conv (the original's tiled ``depth_to_space``);
  down-sampling is 2×2 mean pooling, before the conv on the shortcut and after it on the main path.
* Initialisation as tflib: "He" convs are uniform with variance 4 / (fan_in + fan_out)
  (``VarianceScaling(2, "fan_avg", "uniform")``), the 1×1 shortcuts, the critic's input conv and
  the dense layers are Glorot uniform, biases zero. Batch norm ε = 1e-5, layer norm ε = 1e-5.

The paper's 64×64 runs use dim = 64; CIFAR-10 uses the same script with DIM = 32 on 32×32 images
(TTUR#19). The original critic ends with ``reshape(output, [-1, 4*4*8*dim])`` and a dense layer:
right for 64×64 images (a 4×4 map per image), but at 32×32 each row holds the 2×2 maps of four
consecutive images, so each score mixes four images and a batch of B gives B/4 scores. The
paper's CIFAR-10 WGAN-GP numbers were produced with that critic: ``head="original"`` reproduces it
(``images_per_score`` says how many images a score mixes); the default ``head="per_image"`` gives
each image its own score.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ttur_tf.models import check_image_size_and_width
from ttur_tf.models.fused_batch_norm import FusedBatchNormalization
from ttur_tf.models.registry import ModelEntry, Networks, register

__all__ = [
    "CRITIC_HEADS",
    "ORIGINAL_SETTINGS",
    "build_discriminator",
    "build_generator",
    "build_networks",
    "images_per_score",
]

# The TTUR setting of WGAN_GP/gan_64x64_FID.py (D 3e-4 / G 1e-4, Adam betas (0, 0.9), 100,000
# iterations, FID every 1000 iterations on 50,000 samples; its Inception batches of 200 are not
# kept: the batch changes memory, never the FID, and --fid_batch_size defaults to 50).
ORIGINAL_SETTINGS = dict(
    dim=64, loss="wgan-gp", d_lr=3e-4, g_lr=1e-4, d_beta1=0.0, d_beta2=0.9, g_beta1=0.0,
    g_beta2=0.9, steps=100_000, checkpoint_every=1000, fid_every=1000,
    spectral_norm="none", attention_resolution=0,
)
CRITIC_HEADS = ("per_image", "original")
_NOISE_DIM = 128
_ORIGINAL_HEAD_CELLS = 16  # the original's reshape to rows of 4·4·8·dim
_BN_EPSILON = 1e-5
_NORMALIZATIONS = ("layer", "batch", "sync_batch", "none")


def _he_uniform():
    return keras.initializers.VarianceScaling(2.0, mode="fan_avg", distribution="uniform")


def _conv(filters: int, kernel_size: int, he_init: bool, use_bias: bool, name: str):
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=_he_uniform() if he_init else "glorot_uniform",
        name=name,
    )


def _normalization(kind: str, name: str):
    if kind in ("batch", "sync_batch"):
        # sync_batch: statistics over the batches of all replicas of a tf.distribute strategy.
        return FusedBatchNormalization(epsilon=_BN_EPSILON, momentum=0.9, name=name,
                                       synchronized=kind == "sync_batch")
    if kind == "layer":
        # groups=1: statistics over (H, W, C) of each image, scale and offset per channel (tflib).
        return keras.layers.GroupNormalization(groups=1, epsilon=_BN_EPSILON, name=name)
    return keras.layers.Identity(name=name)


def _residual_block(x, filters: int, resample: str, normalization: str, name: str):
    """One ``ResidualBlock`` with resample "up" or "down" (3×3 convs, 1×1 shortcut)."""
    in_filters = x.shape[-1]
    if resample == "up":
        shortcut = keras.layers.UpSampling2D(2, name=f"{name}_shortcut_up")(x)
        shortcut = _conv(filters, 1, False, True, f"{name}_shortcut")(shortcut)
    else:
        shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(x)
        shortcut = _conv(filters, 1, False, True, f"{name}_shortcut")(shortcut)

    h = _normalization(normalization, f"{name}_norm1")(x)
    h = keras.layers.ReLU(name=f"{name}_relu1")(h)
    if resample == "up":
        h = keras.layers.UpSampling2D(2, name=f"{name}_up")(h)
        h = _conv(filters, 3, True, False, f"{name}_conv1")(h)
    else:
        h = _conv(in_filters, 3, True, False, f"{name}_conv1")(h)
    h = _normalization(normalization, f"{name}_norm2")(h)
    h = keras.layers.ReLU(name=f"{name}_relu2")(h)
    h = _conv(filters, 3, True, True, f"{name}_conv2")(h)
    if resample == "down":
        h = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(h)
    return keras.layers.Add(name=f"{name}_add")([shortcut, h])


def build_generator(
    image_size: int = 64, dim: int = 64, noise_dim: int = _NOISE_DIM, batch_norm: bool = True,
    sync_batch_norm: bool = False,
) -> keras.Model:
    """``GoodGenerator``: noise (B, noise_dim) float32 → images (B, size, size, 3) in [-1, 1].

    Args:
        image_size: output height and width, a multiple of 16 (64, or 32 for CIFAR-10).
        dim: width multiplier (64 for 64×64, 32 for CIFAR-10 in the original runs).
        noise_dim: length of the noise vector (128 in the original).
        batch_norm: batch norm in the residual blocks and before the output (``BN_G``).
        sync_batch_norm: batch statistics over all replicas of a ``tf.distribute`` strategy
            instead of each replica's own batch.
    """
    check_image_size_and_width(image_size, dim, "dim")
    normalization = ("sync_batch" if sync_batch_norm else "batch") if batch_norm else "none"
    start = image_size // 16
    noise = keras.Input((noise_dim,), name="noise")
    x = keras.layers.Dense(start * start * 8 * dim, name="input_dense")(noise)
    x = keras.layers.Reshape((start, start, 8 * dim), name="input_reshape")(x)
    for index, multiplier in enumerate((8, 4, 2, 1), start=1):
        x = _residual_block(x, multiplier * dim, "up", normalization, f"res{index}")
    x = _normalization(normalization, "output_norm")(x)
    x = keras.layers.ReLU(name="output_relu")(x)
    x = _conv(3, 3, True, True, "output_conv")(x)
    images = keras.layers.Activation("tanh", name="tanh")(x)
    return keras.Model(noise, images, name="generator")


def images_per_score(image_size: int, head: str) -> int:
    """How many images each critic score depends on: 1, or for ``head="original"``
    16 / (image_size / 16)² (4 at 32×32, 1 at 64×64).

    Raises:
        ValueError: an unknown head, or ``head="original"`` at a size where the original's
            reshape would cut images apart (only 16, 32 and 64 pixels divide evenly).
    """
    if head not in CRITIC_HEADS:
        raise ValueError(f"critic_head must be one of {CRITIC_HEADS}, got {head!r}")
    if head == "per_image":
        return 1
    cells = (image_size // 16) ** 2
    if _ORIGINAL_HEAD_CELLS % cells:
        raise ValueError(
            f"critic_head=original reshapes the critic's last map to rows of 4·4 cells; at "
            f"{image_size}×{image_size} ({cells} cells per image) that cuts images apart: use it "
            "at 32×32 (four images per score, the original's CIFAR-10) or 64×64, or use per_image"
        )
    return _ORIGINAL_HEAD_CELLS // cells


class _RowsOfSixteenCells(keras.layers.Layer):
    """(B, s, s, C) → (B·s²/16, 16·C): the original's ``reshape(output, [-1, 4*4*8*dim])``.
    Each row holds the last maps of 16/s² consecutive images."""

    def call(self, maps):
        return keras.ops.reshape(maps, (-1, _ORIGINAL_HEAD_CELLS * maps.shape[-1]))

    def compute_output_shape(self, input_shape):
        return (None, _ORIGINAL_HEAD_CELLS * input_shape[-1])


def build_discriminator(
    image_size: int = 64, dim: int = 64, normalization: str = "layer", head: str = "per_image"
) -> keras.Model:
    """``GoodDiscriminator``: images (B, size, size, 3) in [-1, 1] → scores float32.

    Args:
        image_size: input height and width, a multiple of 16.
        dim: width multiplier.
        normalization: "layer" (the WGAN-GP critic), "batch" (the other losses), "sync_batch"
            (batch statistics over all replicas) or "none".
        head: "per_image" → scores (B,); "original" → the original's reshape, scores
            (B / images_per_score,), each mixing that many consecutive images (B must be a
            multiple of it).
    """
    check_image_size_and_width(image_size, dim, "dim")
    if normalization not in _NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}")
    images_per_score(image_size, head)
    images = keras.Input((image_size, image_size, 3), name="images")
    x = _conv(dim, 3, False, True, "input_conv")(images)
    for index, multiplier in enumerate((2, 4, 8, 8), start=1):
        x = _residual_block(x, multiplier * dim, "down", normalization, f"res{index}")
    if head == "original":
        x = _RowsOfSixteenCells(name="original_reshape")(x)
    else:
        x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(1, name="output_dense")(x)
    scores = keras.layers.Reshape((), name="scores")(x)
    return keras.Model(images, scores, name="discriminator")


def build_networks(config, image_size: int) -> Networks:
    """The registry's builder: the critic normalised by layer norm for ``wgan-gp`` (batch norm
    otherwise), ``config.critic_head``, noise N(0, 1), samples in training mode (as the
    original). Refuses a batch the original head cannot split on every replica."""
    mixed = images_per_score(image_size, config.critic_head)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if config.batch_size % (mixed * replicas):
        raise ValueError(
            f"critic_head={config.critic_head} at {image_size}×{image_size} scores groups of "
            f"{mixed} images on each of {replicas} replica(s): batch_size "
            f"({config.batch_size}) must be a multiple of {mixed * replicas}")
    batch_norm = "sync_batch" if config.sync_batch_norm else "batch"
    generator = build_generator(image_size, config.dim, sync_batch_norm=config.sync_batch_norm)
    return Networks(
        generator=generator,
        discriminator=build_discriminator(
            image_size, config.dim, "layer" if config.loss == "wgan-gp" else batch_norm,
            config.critic_head),
        noise_dim=generator.input_shape[-1], noise_distribution="normal",
        sample_in_training_mode=True)


register(ModelEntry(
    name="resnet", data="images", defaults=ORIGINAL_SETTINGS, build=build_networks,
    description="the WGAN-GP ResNets of gan_64x64_FID.py (32×32 and 64×64)"))
