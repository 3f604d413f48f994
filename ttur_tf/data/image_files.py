"""Folders of image files for FID: listing, decoding with tf.data, converting to RGB.

The original (TTUR fid.py ``_handle_path``) globs only ``*.jpg`` and ``*.png``, unsorted, and loads
every image into memory. Here: extensions are matched case-insensitively, each file is listed
once, the list is sorted (FID is then independent of the file system's order), and images are
decoded lazily in parallel, in order, so memory stays bounded whatever the folder's size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf
from absl import logging

from ttur_tf.errors import first_line

__all__ = ["IMAGE_EXTENSIONS", "decode_rgb", "decoded_images", "list_image_files"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
_CHANNEL_NAMES = {1: "grayscale", 2: "grayscale+alpha", 4: "RGBA"}


def list_image_files(folder: str | os.PathLike) -> list[Path]:
    """The image files directly inside ``folder``, sorted by name.

    Args:
        folder: a directory of PNG/JPEG/BMP/WebP files (not searched recursively).

    Returns:
        Sorted paths; extensions matched case-insensitively, each file once.

    Raises:
        FileNotFoundError: the folder does not exist.
        NotADirectoryError: the path is a file.
        ValueError: the folder holds no image file.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(
            f"{folder} is a file, not a folder of images (statistics files must end in .npz)"
        )
    files = sorted(
        entry
        for entry in folder.iterdir()
        if entry.suffix.lower() in IMAGE_EXTENSIONS and entry.is_file()
    )
    if not files:
        raise ValueError(
            f"no image files in {folder} (looked for {', '.join(IMAGE_EXTENSIONS)} in any case; "
            "subfolders are not searched)"
        )
    if any(path.suffix.lower() in (".jpg", ".jpeg") for path in files):
        logging.warning(
            "%s holds JPEG files: JPEG compression changes FID noticeably; compare only with "
            "statistics computed from equally compressed images, or save samples as PNG.",
            folder,
        )
    return files


def decode_rgb(contents: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Encoded PNG/JPEG/BMP/WebP bytes → (uint8 image (H, W, 3), the file's channel count)."""
    # TensorFlow's default JPEG IDCT is libjpeg's fast integer one; the original reads images with
    # imageio/PIL, which use the accurate one. They differ by up to ~8 levels per pixel.
    image = tf.cond(
        tf.io.is_jpeg(contents),
        lambda: tf.io.decode_jpeg(contents, channels=0, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(contents, channels=0, dtype=tf.uint8, expand_animations=False),
    )
    channels = tf.shape(image)[-1]
    rgb = tf.case(
        [
            (channels < 3, lambda: tf.repeat(image[..., :1], 3, axis=-1)),
            (channels > 3, lambda: image[..., :3]),
        ],
        default=lambda: image,
    )
    return rgb, channels


def decoded_images(files: list[Path]) -> Iterator[np.ndarray]:
    """Decodes image files in order, in parallel.

    Grayscale images are repeated to 3 channels, alpha channels dropped, 16-bit images scaled to
    8 bit and palette images expanded (each conversion logged once).

    Args:
        files: image paths, e.g. from ``list_image_files``.

    Yields:
        uint8 arrays (H, W, 3), one per file, in the order of ``files``.

    Raises:
        ValueError: a file cannot be read or decoded (the message names it).
    """
    dataset = tf.data.Dataset.from_tensor_slices([str(path) for path in files])
    dataset = dataset.map(
        lambda path: decode_rgb(tf.io.read_file(path)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    ).prefetch(tf.data.AUTOTUNE)
    logged = set()
    iterator = iter(dataset)
    for index in range(len(files)):
        try:
            image, channels = next(iterator)
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as error:
            raise ValueError(
                f"cannot read image {files[index]}: {first_line(error)}"
            ) from error
        channels = int(channels)
        if channels != 3 and channels not in logged:
            logged.add(channels)
            logging.info(
                "converting %s images to RGB (first: %s)", _CHANNEL_NAMES[channels], files[index]
            )
        yield image.numpy()
