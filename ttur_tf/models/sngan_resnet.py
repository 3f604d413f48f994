"""The ResNet generator and discriminator of SNGAN (Miyato et al., ICLR 2018) for 32×32 images.

The architecture of their Table 4 (ResNet, CIFAR-10) as their chainer code builds it, channels
last:

* Generator: noise (B, 128) ~ N(0, 1) → dense → (s, s, 2·dim), s = image_size / 8 → three
  up-sampling residual blocks of 2·dim channels → batch norm → ReLU → 3×3 conv to RGB → tanh.
  A block: BN → ReLU → nearest ×2 → 3×3 conv → BN → ReLU → 3×3 conv, plus the shortcut
  nearest ×2 → 1×1 conv.
* Discriminator: an optimized first block (3×3 conv → ReLU → 3×3 conv → 2×2 mean pool, shortcut
  mean pool → 1×1 conv) to dim channels, a down-sampling block, two plain blocks (ReLU → 3×3
  conv → ReLU → 3×3 conv, identity shortcut), ReLU → sum over positions → dense → one logit per
  image (B,). Spectral normalization is not built in: ``--spectral_norm`` (default
  ``discriminator`` for this model) wraps every kernel (``ttur_tf.models.spectral_norm``).
* Initialisation as theirs: 3×3 convs Glorot uniform with gain √2, 1×1 convs and dense layers
  Glorot uniform; batch norm with decay 0.9 and ε = 2e-5 (chainer's); samples and metrics use
  the generator's moving statistics (chainer's test mode).

``dim`` is the discriminator's width (128 in the paper); the generator has twice as many
channels (256).

Class-conditional (``num_classes`` > 0; Miyato & Koyama 2018, "cGANs with projection
discriminator", their chainer ResNets): the generator's blocks use conditional batch norm (the
output batch norm stays unconditional) and take [noise, labels]; the discriminator takes
[images, labels] and ends in the projection ψ(φ) + ⟨V[c], φ⟩ (``ttur_tf.models.conditional``).
"""

from __future__ import annotations

import keras

from ttur_tf.models.conditional import ConditionalBatchNormalization, projection_logits
from ttur_tf.models.fused_batch_norm import FusedBatchNormalization
from ttur_tf.models.registry import ModelEntry, Networks, register
from ttur_tf.models.sum_pooling import SumOverPositions

__all__ = ["NOISE_DIM", "PUBLISHED_SETTINGS", "build_discriminator", "build_generator",
           "build_networks"]

NOISE_DIM = 128
# Miyato et al. 2018, CIFAR-10 with the ResNet: hinge loss, Adam α 2e-4, β1 0, β2 0.9, five
# discriminator updates per generator update (n_critic, set by sngan_cifar10.flags), 50,000
# generator updates, batch 64.
PUBLISHED_SETTINGS = dict(
    dim=128, loss="hinge", d_lr=2e-4, g_lr=2e-4, d_beta1=0.0, d_beta2=0.9, g_beta1=0.0,
    g_beta2=0.9, steps=50_000, checkpoint_every=1000, fid_every=5000,
    spectral_norm="discriminator", attention_resolution=0,
)


def _conv(filters: int, kernel_size: int, name: str):
    gain_squared = 2.0 if kernel_size == 3 else 1.0
    return keras.layers.Conv2D(
        filters, kernel_size, padding="same", name=name,
        kernel_initializer=keras.initializers.VarianceScaling(gain_squared, "fan_avg", "uniform"))


def _batch_norm(name: str, synchronized: bool):
    return FusedBatchNormalization(momentum=0.9, epsilon=2e-5, synchronized=synchronized,
                                   name=name)


def _block_batch_norm(x, labels, num_classes: int, name: str, synchronized: bool):
    """Batch norm of a generator block: conditional on ``labels`` when there are classes."""
    if not num_classes:
        return _batch_norm(name, synchronized)(x)
    return ConditionalBatchNormalization(num_classes, momentum=0.9, epsilon=2e-5,
                                         synchronized=synchronized, name=name)([x, labels])


def _up_block(x, filters: int, name: str, synchronized: bool, labels=None, num_classes: int = 0):
    shortcut = keras.layers.UpSampling2D(name=f"{name}_shortcut_up")(x)
    shortcut = _conv(filters, 1, f"{name}_shortcut_conv")(shortcut)
    h = _block_batch_norm(x, labels, num_classes, f"{name}_bn1", synchronized)
    h = keras.layers.ReLU(name=f"{name}_relu1")(h)
    h = keras.layers.UpSampling2D(name=f"{name}_up")(h)
    h = _conv(filters, 3, f"{name}_conv1")(h)
    h = _block_batch_norm(h, labels, num_classes, f"{name}_bn2", synchronized)
    h = keras.layers.ReLU(name=f"{name}_relu2")(h)
    h = _conv(filters, 3, f"{name}_conv2")(h)
    return keras.layers.Add(name=f"{name}_add")([shortcut, h])


def _down_block(x, filters: int, name: str, downsample: bool, first: bool):
    h = x if first else keras.layers.ReLU(name=f"{name}_relu1")(x)
    h = _conv(filters, 3, f"{name}_conv1")(h)
    h = keras.layers.ReLU(name=f"{name}_relu2")(h)
    h = _conv(filters, 3, f"{name}_conv2")(h)
    if downsample:
        h = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(h)
    shortcut = x
    if first:  # the optimized block: pool, then the 1×1 conv
        shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(shortcut)
        shortcut = _conv(filters, 1, f"{name}_shortcut_conv")(shortcut)
    elif downsample or x.shape[-1] != filters:
        shortcut = _conv(filters, 1, f"{name}_shortcut_conv")(shortcut)
        if downsample:
            shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(shortcut)
    return keras.layers.Add(name=f"{name}_add")([shortcut, h])


def _check(image_size: int, dim: int) -> None:
    if image_size < 8 or image_size % 8:
        raise ValueError(f"the SNGAN ResNet doubles its 4×4 start three times: image_size must "
                         f"be a multiple of 8 (32 in the paper), got {image_size}")
    if dim < 1:
        raise ValueError(f"dim must be ≥ 1, got {dim}")


def build_generator(image_size: int = 32, dim: int = 128, noise_dim: int = NOISE_DIM,
                    sync_batch_norm: bool = False, num_classes: int = 0) -> keras.Model:
    """Noise (B, noise_dim) float32 → images (B, size, size, 3) in [-1, 1], 2·dim channels;
    with classes [noise, labels int32 (B,)] → images."""
    _check(image_size, dim)
    start, width = image_size // 8, 2 * dim
    noise = keras.Input((noise_dim,), name="noise")
    labels = keras.Input((), dtype="int32", name="labels") if num_classes else None
    x = keras.layers.Dense(start * start * width, name="input_dense",
                           kernel_initializer="glorot_uniform")(noise)
    x = keras.layers.Reshape((start, start, width), name="input_reshape")(x)
    for index in range(1, 4):
        x = _up_block(x, width, f"up{index}", sync_batch_norm, labels, num_classes)
    x = keras.layers.ReLU(name="output_relu")(_batch_norm("output_bn", sync_batch_norm)(x))
    x = _conv(3, 3, "output_conv")(x)
    images = keras.layers.Activation("tanh", name="tanh")(x)
    return keras.Model([noise, labels] if num_classes else noise, images, name="generator")


def build_discriminator(image_size: int = 32, dim: int = 128,
                        num_classes: int = 0) -> keras.Model:
    """Images (B, size, size, 3) in [-1, 1] → logits (B,) float32 (without spectral norm); with
    classes [images, labels int32 (B,)] → logits, by projection."""
    _check(image_size, dim)
    images = keras.Input((image_size, image_size, 3), name="images")
    x = _down_block(images, dim, "block1", downsample=True, first=True)
    x = _down_block(x, dim, "block2", downsample=True, first=False)
    x = _down_block(x, dim, "block3", downsample=False, first=False)
    x = _down_block(x, dim, "block4", downsample=False, first=False)
    x = keras.layers.ReLU(name="output_relu")(x)
    x = SumOverPositions(name="sum_pool")(x)
    if num_classes:
        labels = keras.Input((), dtype="int32", name="labels")
        logits = projection_logits(x, labels, num_classes, name="output")
        return keras.Model([images, labels], logits, name="discriminator")
    x = keras.layers.Dense(1, name="output_dense", kernel_initializer="glorot_uniform")(x)
    logits = keras.layers.Reshape((), name="logits")(x)
    return keras.Model(images, logits, name="discriminator")


def build_networks(config, image_size: int, num_classes: int = 0) -> Networks:
    """The registry's builder: noise N(0, 1), samples with the moving statistics."""
    return Networks(
        generator=build_generator(image_size, config.dim, sync_batch_norm=config.sync_batch_norm,
                                  num_classes=num_classes),
        discriminator=build_discriminator(image_size, config.dim, num_classes),
        noise_dim=NOISE_DIM, noise_distribution="normal", sample_in_training_mode=False)


register(ModelEntry(
    name="sngan", data="images", defaults=PUBLISHED_SETTINGS, build=build_networks,
    description="SNGAN's ResNets for 32×32 images (Miyato et al. 2018), spectral norm in D",
    conditional=True))
