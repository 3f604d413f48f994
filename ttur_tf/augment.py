"""DiffAugment (Zhao, Liu, Lin, Zhu, Han; NeurIPS 2020): differentiable augmentation of every image
the discriminator sees, real and generated, in both players' updates.

On images in [-1, 1], (B, H, W, C), each image with its own draws:

* ``color``: brightness x + (u − ½); saturation (x − x̄_c)·2u + x̄_c (x̄_c: the mean over channels
  of each pixel); contrast (x − x̄)·(u + ½) + x̄ (x̄: the image's mean); u ~ U[0, 1) each.
* ``translation``: a shift by integers in [−s, s] along each axis, s = round(H/8) (and W/8),
  zeros where nothing is shifted in.
* ``cutout``: a square of side round(H/2) (and W/2) set to zero, its centre uniform over the
  image (it may reach outside).

Every operation is differentiable with respect to the images (the generator learns through
them). The draws are stateless functions of a seed, the run's (seed, step, draw): a resumed run
augments exactly as an uninterrupted one, and under ``tf.distribute`` each replica takes its rows
of one global draw, so replicas augment as one device does.
"""

from __future__ import annotations

import tensorflow as tf

from ttur_tf.distribute import replica_rows

__all__ = ["POLICIES", "brightness", "contrast", "cutout", "diff_augment", "parse_policies",
           "saturation", "translate"]

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def parse_policies(text: str) -> tuple[str, ...]:
    """"color,translation" → ("color", "translation"); "" → ()."""
    policies = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [policy for policy in policies if policy not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policies {unknown}: use any of {POLICIES}, "
                         "comma-separated")
    return policies


def _per_image(values: tf.Tensor) -> tf.Tensor:
    return tf.reshape(values, [-1, 1, 1, 1])


def brightness(images: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
    """images + (u − ½), u (B,) in [0, 1)."""
    return images + _per_image(u - 0.5)


def saturation(images: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
    """(images − their per-pixel channel mean)·2u + that mean, u (B,) in [0, 1)."""
    mean = tf.reduce_mean(images, axis=-1, keepdims=True)
    return (images - mean) * _per_image(2.0 * u) + mean


def contrast(images: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
    """(images − each image's mean)·(u + ½) + that mean, u (B,) in [0, 1)."""
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * _per_image(u + 0.5) + mean


def translate(images: tf.Tensor, shift_y: tf.Tensor, shift_x: tf.Tensor) -> tf.Tensor:
    """Each image moved down by ``shift_y`` and right by ``shift_x`` pixels (int32 (B,)), zeros
    where nothing comes in: output[y, x] = images[y − shift_y, x − shift_x]."""
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    source_y = tf.range(height)[None, :] - shift_y[:, None]  # (B, H)
    source_x = tf.range(width)[None, :] - shift_x[:, None]  # (B, W)
    inside = ((source_y >= 0) & (source_y < height))[:, :, None] & \
        ((source_x >= 0) & (source_x < width))[:, None, :]  # (B, H, W)
    rows = tf.gather(images, tf.clip_by_value(source_y, 0, height - 1), axis=1, batch_dims=1)
    moved = tf.gather(rows, tf.clip_by_value(source_x, 0, width - 1), axis=2, batch_dims=1)
    return moved * tf.cast(inside, images.dtype)[..., None]


def cutout(images: tf.Tensor, centre_y: tf.Tensor, centre_x: tf.Tensor, size_y: int,
           size_x: int) -> tf.Tensor:
    """``images`` with a ``size_y``×``size_x`` rectangle around (centre_y, centre_x) (int32
    (B,)) set to zero: rows centre_y − size_y//2 … centre_y − size_y//2 + size_y − 1."""
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    top, left = centre_y - size_y // 2, centre_x - size_x // 2
    y, x = tf.range(height)[None, :], tf.range(width)[None, :]
    in_rows = (y >= top[:, None]) & (y < top[:, None] + size_y)  # (B, H)
    in_columns = (x >= left[:, None]) & (x < left[:, None] + size_x)  # (B, W)
    keep = tf.logical_not(in_rows[:, :, None] & in_columns[:, None, :])
    return images * tf.cast(keep, images.dtype)[..., None]


def diff_augment(images: tf.Tensor, policies: tuple[str, ...], seed: tf.Tensor) -> tf.Tensor:
    """``images`` (this replica's rows) augmented by ``policies`` in the order given, with draws
    that are this replica's rows of global draws from ``seed`` (int64 (2,))."""
    rows = tf.shape(images)[0]
    height, width = int(images.shape[1]), int(images.shape[2])
    streams = iter(range(100))

    def uniform():
        stream = tf.random.experimental.stateless_fold_in(seed, next(streams))
        return replica_rows(lambda count: tf.random.stateless_uniform(
            tf.reshape(count, [1]), stream), rows)

    def integers(low: int, high: int):  # in [low, high)
        stream = tf.random.experimental.stateless_fold_in(seed, next(streams))
        return replica_rows(lambda count: tf.random.stateless_uniform(
            tf.reshape(count, [1]), stream, low, high, dtype=tf.int32), rows)

    for policy in policies:
        if policy == "color":
            images = brightness(images, uniform())
            images = saturation(images, uniform())
            images = contrast(images, uniform())
        elif policy == "translation":
            reach_y = int(height * TRANSLATION_RATIO + 0.5)
            reach_x = int(width * TRANSLATION_RATIO + 0.5)
            images = translate(images, integers(-reach_y, reach_y + 1),
                               integers(-reach_x, reach_x + 1))
        else:
            size_y = int(height * CUTOUT_RATIO + 0.5)
            size_x = int(width * CUTOUT_RATIO + 0.5)
            images = cutout(images, integers(0, height + (1 - size_y % 2)),
                            integers(0, width + (1 - size_x % 2)), size_y, size_x)
    return images
