"""Image sources for metrics: one stream of batches of pixel values 0..255, whatever the source.

``image_batches(source, batch_size)`` accepts a NumPy array (N, H, W, C), a folder of image files,
an ``.npz`` file with a uint8 array under ``images``, ``"tfds:NAME[/CONFIG][/SPLIT]"`` (default
split "train"), or a ``tf.data.Dataset`` of images (H, W, C) or batches (B, H, W, C). It can take
one shard of the source (every ``num_shards``-th image from ``shard_index``) so that several
processes share a large set, and can drop the last partial batch as the original ``fid.py`` does.
Images of different sizes (folders, datasets) go in separate batches. Metrics (``ttur_tf.fid``,
``ttur_tf.metrics``) read this stream; nothing here knows about them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf

from ttur_tf.data import image_files
from ttur_tf.data.tfds_sources import TFDS_PREFIX, load_tfds, parse_tfds_source
from ttur_tf.files import read_npz

__all__ = ["ImageBatches", "image_batches", "read_npz_images", "read_npz_labels"]


@dataclasses.dataclass
class ImageBatches:
    """A stream of image batches (B, H, W, C), pixel values 0..255, and how many images it holds
    (None when the source does not say, e.g. a dataset of unknown cardinality)."""

    batches: Iterator[np.ndarray]
    count: int | None


def read_npz_images(path: str | os.PathLike) -> np.ndarray:
    """The uint8 images (N, H, W, 3) of an .npz file: its ``images`` array, or its only array.

    Raises:
        ValueError: no such array, or not uint8 (N, H, W, 3) with N ≥ 1.
    """
    path = Path(path)
    arrays = read_npz(path, "an .npz of images")
    if "images" in arrays:
        images = arrays["images"]
    elif len(arrays) == 1:
        images = next(iter(arrays.values()))
    else:
        raise ValueError(f"{path}: put the images under the key 'images' (found keys "
                         f"{list(arrays)})")
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8 or len(images) < 1:
        raise ValueError(
            f"{path}: expected a uint8 array (N, H, W, 3) with N ≥ 1, got {images.dtype} "
            f"{images.shape}"
        )
    return images


def read_npz_labels(path: str | os.PathLike, count: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """The class labels of an .npz of images: its ``labels`` array, integers (count,) ≥ 0, as
    int32, and the class names "0" … "C−1" (C: the largest label + 1).

    Raises:
        ValueError: no ``labels`` array, or not one non-negative integer per image.
    """
    path = Path(path)
    arrays = read_npz(path, "an .npz of images")
    if "labels" not in arrays:
        raise ValueError(f"{path} has no 'labels' array: a class-conditional GAN needs one class "
                         f"per image (integers 0…C−1, shape ({count},)) next to 'images'")
    labels = arrays["labels"]
    if labels.shape != (count,) or labels.dtype.kind not in "iu" or (labels < 0).any():
        raise ValueError(f"{path}: 'labels' must hold one integer ≥ 0 per image, shape ({count},), "
                         f"got {labels.dtype} {labels.shape}")
    return labels.astype(np.int32), tuple(str(k) for k in range(int(labels.max()) + 1))


def _batched_array(images: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    if images.ndim != 4:
        raise ValueError(
            f"an image array must have shape (N, H, W, C) (channels last), got {images.shape}"
        )
    for start in range(0, images.shape[0], batch_size):
        yield images[start : start + batch_size]


def _batched_by_size(images: Iterable[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    """Stacks consecutive images of one size into batches of at most ``batch_size``."""
    pending: list[np.ndarray] = []
    for image in images:
        if pending and (len(pending) == batch_size or image.shape != pending[0].shape):
            yield np.stack(pending)
            pending = []
        pending.append(image)
    if pending:
        yield np.stack(pending)


def _tfds_images(source: str) -> tuple[tf.data.Dataset, int | None]:
    dataset, _ = load_tfds(*parse_tfds_source(source), feature="image")
    count = int(dataset.cardinality())
    return dataset.map(lambda example: example["image"]), count if count >= 0 else None


def _dataset_batches(dataset: tf.data.Dataset, batch_size: int) -> Iterator[np.ndarray]:
    rank = dataset.element_spec.shape.rank
    if rank == 4:
        return (batch.numpy() for batch in dataset)
    if rank == 3:
        return _batched_by_size((image.numpy() for image in dataset), batch_size)
    raise ValueError(
        f"a dataset must yield images (H, W, C) or batches (B, H, W, C), got elements of shape "
        f"{dataset.element_spec.shape} (for tfds dicts, map to the 'image' key)"
    )


def _shard_size(count: int | None, num_shards: int, shard_index: int) -> int | None:
    return None if count is None else len(range(shard_index, count, num_shards))


def _batches_and_count(
    source, batch_size: int, num_shards: int, shard_index: int
) -> tuple[Iterator[np.ndarray], int | None]:
    """The source's images (every num_shards-th from shard_index) in batches, and their count."""
    if isinstance(source, np.ndarray):
        if source.ndim == 4:
            source = source[shard_index::num_shards]
        return _batched_array(source, batch_size), source.shape[0]
    if isinstance(source, tf.data.Dataset):
        count = int(source.cardinality())
        if num_shards > 1 and source.element_spec.shape.rank == 4:
            raise ValueError("to shard a dataset of batches, unbatch it first (.unbatch())")
        dataset = source.shard(num_shards, shard_index) if num_shards > 1 else source
        return (_dataset_batches(dataset, batch_size),
                _shard_size(count if count >= 0 else None, num_shards, shard_index))
    if isinstance(source, (str, os.PathLike)) and str(source).endswith(".npz"):
        return _batches_and_count(read_npz_images(source), batch_size, num_shards, shard_index)
    if isinstance(source, str) and source.startswith(TFDS_PREFIX):
        dataset, count = _tfds_images(source)
        dataset = dataset.shard(num_shards, shard_index) if num_shards > 1 else dataset
        return _dataset_batches(dataset, batch_size), _shard_size(count, num_shards, shard_index)
    if isinstance(source, (str, os.PathLike)):
        files = image_files.list_image_files(source)[shard_index::num_shards]
        return _batched_by_size(image_files.decoded_images(files), batch_size), len(files)
    raise TypeError(
        f"unsupported image source {type(source).__name__}: pass an array (N, H, W, C), a folder, "
        "an .npz of images, 'tfds:NAME[/SPLIT]' or a tf.data.Dataset"
    )


def _truncated(batches: Iterable[np.ndarray], limit: int) -> Iterator[np.ndarray]:
    remaining = limit
    for batch in batches:
        if remaining <= 0:
            return
        yield batch[:remaining]
        remaining -= min(remaining, batch.shape[0])


def image_batches(
    source, batch_size: int, num_shards: int = 1, shard_index: int = 0,
    drop_remainder: bool = False,
) -> ImageBatches:
    """The images of ``source`` (see the module docstring) in batches of at most ``batch_size``.

    Args:
        source: the images, pixel values 0..255.
        batch_size: images per batch (≥ 1).
        num_shards, shard_index: take every ``num_shards``-th image from ``shard_index``.
        drop_remainder: keep only the first ``N // batch_size * batch_size`` images, as the
            original ``get_activations`` (one shard only; the source's size must be known).

    Raises:
        ValueError: bad sizes or shards, or a source that cannot be read (the message says why).
        TypeError: an unsupported kind of source.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise ValueError(f"need num_shards ≥ 1 and 0 ≤ shard_index < num_shards, got "
                         f"num_shards={num_shards}, shard_index={shard_index}")
    if drop_remainder and num_shards > 1:
        raise ValueError("drop_remainder reproduces the original's single pass; it cannot be "
                         "combined with num_shards > 1")
    batches, count = _batches_and_count(source, batch_size, num_shards, shard_index)
    if drop_remainder:
        if count is None:
            raise ValueError("drop_remainder needs a source of known size (this dataset's is unknown)")
        count = count // batch_size * batch_size
        batches = _truncated(batches, count)
    return ImageBatches(batches, count)
