"""The ResNets of SAGAN (Zhang et al., ICML 2019) and BigGAN (Brock et al., ICLR 2019) for
32×32, 64×64 and 128×128 images, as BigGAN's authors' code (ajbrock/BigGAN-PyTorch,
``BigGAN.py``: ``G_arch``, ``D_arch``) lays them out, channels last. SAGAN is BigGAN's baseline
there; the two registry entries differ in their published settings.

* Generator: noise (B, 128) ~ N(0, 1) → dense → (4, 4, c₀) → one up-sampling residual block per
  doubling (BN → ReLU → nearest ×2 → 3×3 conv → BN → ReLU → 3×3 conv, shortcut nearest ×2 →
  1×1 conv) → BN → ReLU → 3×3 conv to RGB → tanh. Class-conditional: the blocks' batch norms are
  conditional (``ConditionalBatchNormalization``), the output batch norm is plain.
* Discriminator: "wide" residual blocks (3×3 conv → ReLU → 3×3 conv at the output width; every
  block but the first starts with ReLU; 2×2 mean pooling where it down-samples; shortcut 1×1 conv
  where the width or size changes) → ReLU → sum over positions → dense to one logit, plus the
  class projection when conditional (``projection_logits``).
* A self-attention block (``SelfAttention``) after the generator block and the discriminator
  block whose output has ``attention_resolution`` rows (0: none).

Channel widths, with ch = ``dim`` (64 in both papers):

=====  ==========================================  ===========================================
size   generator blocks (in → out, ×ch)            discriminator blocks (out ×ch, down-samples)
=====  ==========================================  ===========================================
32     4→4, 4→4, 4→4 (8, 16, 32 rows)              4↓, 4↓, 4, 4 (16, 8, 8, 8 rows)
64     16→16, 16→8, 8→4, 4→2                       1↓, 2↓, 4↓, 8↓, 16
128    16→16, 16→8, 8→4, 4→2, 2→1                  1↓, 2↓, 4↓, 8↓, 16↓, 16
=====  ==========================================  ===========================================

Spectral normalization (both networks in both papers) comes from ``--spectral_norm``, batch norm
ε = 1e-5 and momentum 0.9 (PyTorch's 0.1); kernels and embeddings are drawn from the model's
initializer: BigGAN's CIFAR-10 script N(0, 0.02), SAGAN's Glorot uniform.
"""

from __future__ import annotations

import keras

from ttur_tf.models.conditional import (ConditionalBatchNormalization, fresh_initializer,
                                         projection_logits)
from ttur_tf.models.fused_batch_norm import FusedBatchNormalization
from ttur_tf.models.registry import ModelEntry, Networks, register
from ttur_tf.models.sum_pooling import SumOverPositions
from ttur_tf.models.self_attention import SelfAttention

__all__ = ["BIGGAN_CIFAR10_SETTINGS", "NOISE_DIM", "SAGAN_SETTINGS", "build_discriminator",
           "build_generator", "discriminator_resolutions", "generator_resolutions"]

NOISE_DIM = 128
_BN_EPSILON = 1e-5
_BN_MOMENTUM = 0.9
# SAGAN (Zhang et al. 2019, Sec. 5): hinge loss, spectral norm in both networks, TTUR with
# D 4e-4 and G 1e-4, Adam β = (0, 0.9), one discriminator step per generator step, batch 256;
# attention at 64×64 feature maps for 128×128 images (BigGAN-PyTorch's SAGAN script).
SAGAN_SETTINGS = dict(
    dim=64, loss="hinge", d_lr=4e-4, g_lr=1e-4, d_beta1=0.0, d_beta2=0.9, g_beta1=0.0,
    g_beta2=0.9, steps=1_000_000, checkpoint_every=1000, fid_every=5000, spectral_norm="both",
    attention_resolution=64,
)
# BigGAN-PyTorch's scripts/launch_cifar_ema.sh: ch 64, no attention, four D steps per G step at
# 2e-4 each, Adam β = (0, 0.999), batch 50, N(0, 0.02) init, EMA of G from step 1000 (0.9999),
# 500 epochs of 250 steps (each step reads 4·50 images).
BIGGAN_CIFAR10_SETTINGS = dict(
    dim=64, loss="hinge", d_lr=2e-4, g_lr=2e-4, d_beta1=0.0, d_beta2=0.999, g_beta1=0.0,
    g_beta2=0.999, steps=125_000, checkpoint_every=1000, fid_every=5000, spectral_norm="both",
    attention_resolution=0,
)
_GENERATOR_WIDTHS = {  # (in, out) multipliers of ch per block; each block doubles the size
    32: [(4, 4), (4, 4), (4, 4)],
    64: [(16, 16), (16, 8), (8, 4), (4, 2)],
    128: [(16, 16), (16, 8), (8, 4), (4, 2), (2, 1)],
}
_DISCRIMINATOR_BLOCKS = {  # (out multiplier of ch, down-samples) per block
    32: [(4, True), (4, True), (4, False), (4, False)],
    64: [(1, True), (2, True), (4, True), (8, True), (16, False)],
    128: [(1, True), (2, True), (4, True), (8, True), (16, True), (16, False)],
}


def _check(image_size: int) -> None:
    if image_size not in _GENERATOR_WIDTHS:
        raise ValueError(f"the SAGAN/BigGAN ResNets are laid out for 32×32, 64×64 and 128×128 "
                         f"images, got image_size {image_size}")


def generator_resolutions(image_size: int) -> list[int]:
    """The rows of each generator block's output."""
    _check(image_size)
    return [8 * 2 ** index for index in range(len(_GENERATOR_WIDTHS[image_size]))]


def discriminator_resolutions(image_size: int) -> list[int]:
    """The rows of each discriminator block's output."""
    _check(image_size)
    rows, resolutions = image_size, []
    for _, downsample in _DISCRIMINATOR_BLOCKS[image_size]:
        rows //= 2 if downsample else 1
        resolutions.append(rows)
    return resolutions


def _check_attention(image_size: int, attention_resolution: int) -> None:
    if attention_resolution and not (
            attention_resolution in generator_resolutions(image_size)
            and attention_resolution in discriminator_resolutions(image_size)):
        raise ValueError(
            f"attention_resolution {attention_resolution}: at image_size {image_size} the "
            f"generator's blocks have {generator_resolutions(image_size)} rows and the "
            f"discriminator's {sorted(set(discriminator_resolutions(image_size)))}; choose one "
            "that both have, or 0 for no attention")


def _conv(filters: int, kernel_size: int, name: str, initializer):
    return keras.layers.Conv2D(filters, kernel_size, padding="same", name=name,
                               kernel_initializer=fresh_initializer(initializer))


def _batch_norm(x, labels, num_classes: int, name: str, synchronized: bool, initializer):
    if not num_classes:
        return FusedBatchNormalization(momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON,
                                       synchronized=synchronized, name=name)(x)
    return ConditionalBatchNormalization(
        num_classes, momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON, synchronized=synchronized,
        embeddings_initializer=initializer, name=name)([x, labels])


def _generator_block(x, labels, filters: int, name: str, settings: dict):
    shortcut = keras.layers.UpSampling2D(name=f"{name}_shortcut_up")(x)
    shortcut = _conv(filters, 1, f"{name}_shortcut_conv", settings["initializer"])(shortcut)
    h = _batch_norm(x, labels, name=f"{name}_bn1", **settings)
    h = keras.layers.ReLU(name=f"{name}_relu1")(h)
    h = keras.layers.UpSampling2D(name=f"{name}_up")(h)
    h = _conv(filters, 3, f"{name}_conv1", settings["initializer"])(h)
    h = _batch_norm(h, labels, name=f"{name}_bn2", **settings)
    h = keras.layers.ReLU(name=f"{name}_relu2")(h)
    h = _conv(filters, 3, f"{name}_conv2", settings["initializer"])(h)
    return keras.layers.Add(name=f"{name}_add")([shortcut, h])


def _discriminator_block(x, filters: int, downsample: bool, first: bool, name: str,
                         initializer):
    h = x if first else keras.layers.ReLU(name=f"{name}_relu1")(x)
    h = _conv(filters, 3, f"{name}_conv1", initializer)(h)
    h = keras.layers.ReLU(name=f"{name}_relu2")(h)
    h = _conv(filters, 3, f"{name}_conv2", initializer)(h)
    if downsample:
        h = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(h)
    shortcut = x
    if downsample or x.shape[-1] != filters:
        if first:  # the unactivated first block pools before its 1×1 conv
            if downsample:
                shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(shortcut)
            shortcut = _conv(filters, 1, f"{name}_shortcut_conv", initializer)(shortcut)
        else:
            shortcut = _conv(filters, 1, f"{name}_shortcut_conv", initializer)(shortcut)
            if downsample:
                shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(shortcut)
    return keras.layers.Add(name=f"{name}_add")([shortcut, h])


def build_generator(image_size: int, dim: int = 64, num_classes: int = 0,
                    attention_resolution: int = 0, initializer="glorot_uniform",
                    sync_batch_norm: bool = False) -> keras.Model:
    """Noise (B, 128) float32 (conditional: [noise, labels int32 (B,)]) → images (B, size,
    size, 3) in [-1, 1]."""
    _check(image_size)
    _check_attention(image_size, attention_resolution)
    initializer = keras.initializers.get(initializer)
    settings = dict(num_classes=num_classes, synchronized=sync_batch_norm,
                    initializer=initializer)
    noise = keras.Input((NOISE_DIM,), name="noise")
    labels = keras.Input((), dtype="int32", name="labels") if num_classes else None
    widths = _GENERATOR_WIDTHS[image_size]
    x = keras.layers.Dense(4 * 4 * widths[0][0] * dim, name="input_dense",
                           kernel_initializer=fresh_initializer(initializer))(noise)
    x = keras.layers.Reshape((4, 4, widths[0][0] * dim), name="input_reshape")(x)
    for index, ((_, out), rows) in enumerate(zip(widths, generator_resolutions(image_size))):
        x = _generator_block(x, labels, out * dim, f"block{index + 1}", settings)
        if rows == attention_resolution:
            x = SelfAttention(name=f"attention{rows}")(x)
    x = FusedBatchNormalization(momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON,
                                synchronized=sync_batch_norm, name="output_bn")(x)
    x = keras.layers.ReLU(name="output_relu")(x)
    x = _conv(3, 3, "output_conv", initializer)(x)
    images = keras.layers.Activation("tanh", name="tanh")(x)
    return keras.Model([noise, labels] if num_classes else noise, images, name="generator")


def build_discriminator(image_size: int, dim: int = 64, num_classes: int = 0,
                        attention_resolution: int = 0,
                        initializer="glorot_uniform") -> keras.Model:
    """Images (B, size, size, 3) in [-1, 1] (conditional: [images, labels int32 (B,)]) →
    logits (B,) float32 (without spectral norm: ``--spectral_norm`` adds it)."""
    _check(image_size)
    _check_attention(image_size, attention_resolution)
    initializer = keras.initializers.get(initializer)
    images = keras.Input((image_size, image_size, 3), name="images")
    x, attended = images, False
    for index, ((width, downsample), rows) in enumerate(
            zip(_DISCRIMINATOR_BLOCKS[image_size], discriminator_resolutions(image_size))):
        x = _discriminator_block(x, width * dim, downsample, index == 0, f"block{index + 1}",
                                 initializer)
        if rows == attention_resolution and not attended:
            x = SelfAttention(name=f"attention{rows}")(x)
            attended = True
    x = keras.layers.ReLU(name="output_relu")(x)
    x = SumOverPositions(name="sum_pool")(x)
    if num_classes:
        labels = keras.Input((), dtype="int32", name="labels")
        logits = projection_logits(x, labels, num_classes, name="output",
                                   kernel_initializer=initializer)
        return keras.Model([images, labels], logits, name="discriminator")
    x = keras.layers.Dense(1, name="output_dense",
                           kernel_initializer=fresh_initializer(initializer))(x)
    logits = keras.layers.Reshape((), name="logits")(x)
    return keras.Model(images, logits, name="discriminator")


def _builder(initializer):
    def build_networks(config, image_size: int, num_classes: int = 0) -> Networks:
        return Networks(
            generator=build_generator(image_size, config.dim, num_classes,
                                      config.attention_resolution, initializer,
                                      config.sync_batch_norm),
            discriminator=build_discriminator(image_size, config.dim, num_classes,
                                              config.attention_resolution, initializer),
            noise_dim=NOISE_DIM, noise_distribution="normal", sample_in_training_mode=False)

    return build_networks


register(ModelEntry(
    name="sagan", data="images", defaults=SAGAN_SETTINGS,
    build=_builder("glorot_uniform"), conditional=True, attention=True,
    description="SAGAN's ResNets with self-attention (Zhang et al. 2019) for 32/64/128 images"))
register(ModelEntry(
    name="biggan", data="images", defaults=BIGGAN_CIFAR10_SETTINGS,
    build=_builder(keras.initializers.RandomNormal(stddev=0.02)), conditional=True,
    attention=True,
    description="BigGAN's ResNets (Brock et al. 2019), its CIFAR-10 settings by default"))
