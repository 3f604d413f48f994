"""The DCGAN generator and discriminator of the TTUR DCGAN experiments.

Reproduces ``generator`` / ``discriminator`` / ``sampler_func`` of bioinf-jku/TTUR
``DCGAN_FID_batched/model.py`` (a fork of carpedm20/DCGAN-tensorflow), channels last:

* Generator: noise (B, 100), uniform in [-1, 1] → dense → (s, s, 8·gf), s = image_size / 16 →
  batch norm, ReLU → three 5×5 stride-2 transposed convs (4·gf, 2·gf, gf), each with batch norm
  and ReLU → 5×5 stride-2 transposed conv to RGB → tanh.
* Discriminator: 5×5 stride-2 convs (df, 2·df, 4·df, 8·df), leaky ReLU 0.2, batch norm on all but
  the first → flatten → dense → one logit per image (B,).
* Weights N(0, 0.02) (truncated normal for the discriminator's convs, as carpedm20's ``conv2d``),
  biases zero; batch norm with decay 0.9 and ε = 1e-5. The original samples for FID and images
  with the generator's batch norm in inference mode (``train=False``).
"""

from __future__ import annotations

import keras

from ttur_tf.models import check_image_size_and_width
from ttur_tf.models.fused_batch_norm import FusedBatchNormalization
from ttur_tf.models.registry import ModelEntry, Networks, register

__all__ = ["NOISE_DIM", "ORIGINAL_SETTINGS", "build_discriminator", "build_generator",
           "build_networks"]

NOISE_DIM = 100
# DCGAN_FID_batched: main.py's defaults (learning rates 2e-4, Adam beta1 0.5, beta2 TF1's 0.999)
# and run.sh (FID every 5000 steps; its Inception batches of 100 change memory, not the FID). The paper's rates per data set are
# in the configs/dcgan_*.flags files; the number of steps there comes from run.sh's epochs.
ORIGINAL_SETTINGS = dict(
    dim=64, loss="dcgan", d_lr=2e-4, g_lr=2e-4, d_beta1=0.5, d_beta2=0.999, g_beta1=0.5,
    g_beta2=0.999, steps=100_000, checkpoint_every=2000, fid_every=5000,
    spectral_norm="none", attention_resolution=0,
)
_STDDEV = 0.02


def _normal():
    return keras.initializers.RandomNormal(stddev=_STDDEV)


def _batch_norm(name: str, synchronized: bool):
    return FusedBatchNormalization(momentum=0.9, epsilon=1e-5, name=name,
                                   synchronized=synchronized)


def build_generator(image_size: int = 64, gf_dim: int = 64, noise_dim: int = NOISE_DIM,
                    sync_batch_norm: bool = False) -> keras.Model:
    """DCGAN generator: noise (B, noise_dim) float32 → images (B, size, size, 3) in [-1, 1].
    ``sync_batch_norm``: batch statistics over all replicas of a ``tf.distribute`` strategy."""
    check_image_size_and_width(image_size, gf_dim, "the filter width")
    start = image_size // 16
    noise = keras.Input((noise_dim,), name="noise")
    x = keras.layers.Dense(start * start * 8 * gf_dim, kernel_initializer=_normal(), name="h0_dense")(
        noise
    )
    x = keras.layers.Reshape((start, start, 8 * gf_dim), name="h0_reshape")(x)
    x = keras.layers.ReLU(name="h0_relu")(_batch_norm("h0_bn", sync_batch_norm)(x))
    for index, multiplier in enumerate((4, 2, 1), start=1):
        x = keras.layers.Conv2DTranspose(
            multiplier * gf_dim, 5, strides=2, padding="same", kernel_initializer=_normal(),
            name=f"h{index}_deconv",
        )(x)
        x = keras.layers.ReLU(name=f"h{index}_relu")(
            _batch_norm(f"h{index}_bn", sync_batch_norm)(x))
    x = keras.layers.Conv2DTranspose(
        3, 5, strides=2, padding="same", kernel_initializer=_normal(), name="h4_deconv"
    )(x)
    images = keras.layers.Activation("tanh", name="tanh")(x)
    return keras.Model(noise, images, name="generator")


def build_discriminator(image_size: int = 64, df_dim: int = 64,
                        sync_batch_norm: bool = False) -> keras.Model:
    """DCGAN discriminator: images (B, size, size, 3) in [-1, 1] → logits (B,) float32.
    ``sync_batch_norm``: batch statistics over all replicas of a ``tf.distribute`` strategy."""
    check_image_size_and_width(image_size, df_dim, "the filter width")
    images = keras.Input((image_size, image_size, 3), name="images")
    x = images
    for index, multiplier in enumerate((1, 2, 4, 8)):
        x = keras.layers.Conv2D(
            multiplier * df_dim, 5, strides=2, padding="same",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=_STDDEV),
            name=f"h{index}_conv",
        )(x)
        if index > 0:
            x = _batch_norm(f"h{index}_bn", sync_batch_norm)(x)
        x = keras.layers.LeakyReLU(negative_slope=0.2, name=f"h{index}_lrelu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(1, kernel_initializer=_normal(), name="h4_dense")(x)
    logits = keras.layers.Reshape((), name="logits")(x)
    return keras.Model(images, logits, name="discriminator")


def build_networks(config, image_size: int) -> Networks:
    """The registry's builder: ``config.dim`` filters, noise U(-1, 1), samples in inference
    mode (as carpedm20's sampler)."""
    return Networks(
        generator=build_generator(image_size, config.dim, sync_batch_norm=config.sync_batch_norm),
        discriminator=build_discriminator(image_size, config.dim,
                                          sync_batch_norm=config.sync_batch_norm),
        noise_dim=NOISE_DIM, noise_distribution="uniform", sample_in_training_mode=False)


register(ModelEntry(
    name="dcgan", data="images", defaults=ORIGINAL_SETTINGS, build=build_networks,
    description="carpedm20's DCGAN as TTUR's DCGAN_FID_batched trains it"))
