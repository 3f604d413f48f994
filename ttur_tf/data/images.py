"""Image datasets of the paper as tf.data pipelines: uint8 images for FID, [-1, 1] batches for training.

Sources (``load_image_data``):

* the tfds datasets of the paper's Table 1: ``cifar10`` and ``svhn_cropped`` (32×32), ``celeb_a``
  (218×178, center-cropped to 108×108 and resized to 64×64 as carpedm20's DCGAN / the TTUR CelebA
  statistics), ``lsun/bedroom`` (center-cropped to a square, resized to 64×64); any other
  ``tfds:NAME[/CONFIG][/SPLIT]`` with an ``image`` feature;
* a folder of image files (PNG/JPEG/…, center-cropped to a square and resized when needed);
* an ``.npz`` file with a uint8 array (N, H, W, 3) under ``images`` (or as its only array).

Class labels (``load_image_data(..., labelled=True)``, for class-conditional GANs): a tfds
dataset's ``label`` feature, the class subfolders of a folder (one subfolder per class, sorted by
name: class k is the k-th), or an ``.npz``'s ``labels`` array. Labelled training batches are
(images, labels int32 (B,)) and follow the images through shuffling and resuming.

Resizing uses bilinear interpolation with antialiasing (as PIL's resize that the originals use).
Training pixels are x / 127.5 − 1 in [-1, 1] (the original's 2·(x/255 − 0.5)).

Training decodes each image once when the decoded set fits in a quarter of the machine's memory
(``decoded_in_memory``; CIFAR-10 150 MB, CelebA at 64×64 2.5 GB), and in every epoch otherwise
(LSUN bedroom: 3 million images, 37 GB at 64×64). Training order is a function of (seed,
position) only: each epoch permutes each block of
``shuffle_buffer`` elements with a key derived from (seed, epoch, block), and
``training_batches(start_image=k)`` continues exactly where a run that consumed k images stopped. Shuffling and skipping work on cheap elements (file paths,
encoded records, indices), decoding comes after, so resuming does not decode skipped images.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf
from absl import logging

from ttur_tf.data.tfds_sources import TFDS_PREFIX, load_tfds, parse_tfds_source
from ttur_tf.errors import first_line
from ttur_tf.data import image_files
from ttur_tf.data.image_sources import read_npz_images, read_npz_labels

__all__ = [
    "PAPER_DATASETS",
    "ImageData",
    "decoded_in_memory",
    "load_image_data",
    "training_batches",
    "uint8_images",
]

# name → (native image size of the paper's runs, center crop applied before resizing or None)
PAPER_DATASETS = {
    "cifar10": (32, None),
    "svhn_cropped": (32, None),
    "celeb_a": (64, 108),
    "lsun/bedroom": (64, None),
}
_SHUFFLE_BUFFER_ENCODED_RECORDS = 10_000
_EPOCH_SEED_STRIDE = 1_000_003
_CACHE_FRACTION_OF_MEMORY = 0.25  # decoded training images are kept in memory up to this share


@dataclasses.dataclass(frozen=True)
class ImageData:
    """An image source, in a fixed order.

    Attributes:
        name: what was loaded (for messages and file names).
        elements: one cheap element per image (a path, an encoded record or an index).
        decode: maps an element to a uint8 image (image_size, image_size, 3).
        num_images: the number of images.
        image_size: height and width of the decoded images.
        shuffle_buffer: elements permuted together each epoch (all of them when they are cheap;
            tfds records come pre-shuffled from their files and are permuted in blocks).
        find_unreadable: given the error a read of the source raised, a user error naming the
            unreadable input (a file of a folder, a damaged tfds dataset), or None when the
            source is not at fault.
        in_memory: whether the images are held in memory already (an .npz, or a source after
            ``decoded_in_memory``).
        labels: each image's class, int32 (num_images,) in [0, len(class_names)), in the order
            of ``elements``; None for an unlabelled source.
        class_names: the classes' names, class k is ``class_names[k]`` (() when unlabelled).
    """

    name: str
    elements: tf.data.Dataset
    decode: Callable[[tf.Tensor], tf.Tensor]
    num_images: int
    image_size: int
    shuffle_buffer: int
    find_unreadable: Callable[[Exception], Exception | None] = lambda error: None
    in_memory: bool = False
    labels: np.ndarray | None = None
    class_names: tuple[str, ...] = ()

    @property
    def num_classes(self) -> int:
        """The number of classes (0 when unlabelled)."""
        return len(self.class_names)

    def class_frequencies(self) -> np.ndarray:
        """Each class's share of the images, float64 (num_classes,), summing to 1: the
        distribution a conditional generator's evaluation samples its labels from."""
        if self.labels is None:
            raise ValueError(f"{self.name} has no class labels")
        counts = np.bincount(self.labels, minlength=self.num_classes)
        return counts / counts.sum()


def _square(image: tf.Tensor, image_size: int, crop: int | None) -> tf.Tensor:
    """Center crop (to ``crop`` or to the shorter side) and resize to a uint8 square."""
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    side = tf.minimum(height, width) if crop is None else tf.minimum(crop, tf.minimum(height, width))
    top = (height - side) // 2
    left = (width - side) // 2
    image = tf.image.crop_to_bounding_box(image, top, left, side, side)

    def resize():
        resized = tf.image.resize(image, [image_size, image_size], "bilinear", antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)

    square = tf.cond(tf.equal(side, image_size), lambda: image, resize)
    return tf.ensure_shape(square, [image_size, image_size, 3])


def _tfds_labels(records: tf.data.Dataset, info, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Every record's ``label`` (int32, in file order) and the class names of a tfds dataset."""
    feature = info.features["label"] if "label" in info.features else None
    if feature is None or not hasattr(feature, "num_classes"):
        raise ValueError(f"the tfds dataset {name!r} has no class label feature 'label': a "
                         "class-conditional GAN needs labelled data (train it unconditionally)")
    labels = np.concatenate(list(records.map(lambda record: record["label"]).batch(8192)
                                 .as_numpy_iterator())).astype(np.int32)
    return labels, tuple(feature.names)


def _from_tfds(source: str, image_size: int | None, labelled: bool = False) -> ImageData:
    import tensorflow_datasets as tfds  # imported only when a tfds source is used

    name, split = parse_tfds_source(source)
    native_size, crop = PAPER_DATASETS.get(name, (None, None))
    records, info = load_tfds(
        name, split, "image", decoders={"image": tfds.decode.SkipDecoding()}
    )
    image_feature = info.features["image"]
    height, width = image_feature.shape[:2]
    image_size = image_size or native_size or (min(height, width) if height and width else None)
    if image_size is None:
        raise ValueError(f"the tfds dataset {name!r} has images of varying size: give an image "
                         "size (e.g. 32 or 64)")
    count = int(records.cardinality())
    if count < 1:
        raise ValueError(f"the tfds dataset {name!r}, split {split!r}, has no images")

    def decode(encoded):
        image = image_feature.decode_example(encoded)
        if image.shape[-1] == 1:
            image = tf.repeat(image, 3, axis=-1)
        return _square(image, image_size, crop)

    def damaged(error: Exception) -> Exception | None:
        if not isinstance(error, (tf.errors.DataLossError, tf.errors.NotFoundError)):
            return None
        return ValueError(
            f"the prepared files of the tfds dataset {name!r} cannot be read "
            f"({first_line(error)}): delete its folder under {info.data_dir} and "
            "prepare it again (scripts/prepare_data.py)"
        )

    labels, class_names = _tfds_labels(records, info, name) if labelled else (None, ())
    return ImageData(
        f"{name}/{split}", records.map(lambda record: record["image"]), decode, count, image_size,
        min(count, _SHUFFLE_BUFFER_ENCODED_RECORDS), damaged, labels=labels,
        class_names=class_names,
    )


def _class_folders(folder: Path) -> tuple[list[Path], np.ndarray, tuple[str, ...]]:
    """The images of a folder of class subfolders: (files, their classes int32, class names);
    class k is the k-th subfolder by name."""
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    subfolders = sorted(entry for entry in folder.iterdir() if entry.is_dir())
    if not subfolders:
        raise ValueError(f"{folder} has no subfolders: a class-conditional GAN trains on a folder "
                         "with one subfolder of images per class (class k: the k-th by name)")
    files, labels = [], []
    for index, subfolder in enumerate(subfolders):
        members = image_files.list_image_files(subfolder)
        files += members
        labels += [index] * len(members)
    return files, np.asarray(labels, np.int32), tuple(path.name for path in subfolders)


def _from_folder(folder: Path, image_size: int | None, labelled: bool = False) -> ImageData:
    if labelled:
        files, labels, class_names = _class_folders(folder)
    else:
        files, labels, class_names = image_files.list_image_files(folder), None, ()
    if image_size is None:
        first = next(image_files.decoded_images(files[:1]))
        image_size = min(first.shape[:2])

    def decode(path):
        image, _ = image_files.decode_rgb(tf.io.read_file(path))
        return _square(image, image_size, None)

    def unreadable_file(error: Exception) -> Exception | None:
        logging.info("an image of %s could not be read (%s); looking for it among %d files",
                     folder, type(error).__name__, len(files))
        try:
            for _ in image_files.decoded_images(files):
                pass
        except ValueError as found:  # names the file
            return ValueError(f"{found}. Remove or replace it in the training folder {folder}")
        return None

    elements = tf.data.Dataset.from_tensor_slices([str(path) for path in files])
    return ImageData(str(folder), elements, decode, len(files), image_size, len(files),
                     unreadable_file, labels=labels, class_names=class_names)


def _from_npz(path: Path, image_size: int | None, labelled: bool = False) -> ImageData:
    images = read_npz_images(path)
    labels, class_names = read_npz_labels(path, len(images)) if labelled else (None, ())
    image_size = image_size or min(images.shape[1:3])
    table = tf.constant(images)

    def decode(index):
        return _square(tf.gather(table, index), image_size, None)

    count = images.shape[0]
    return ImageData(str(path), tf.data.Dataset.range(count), decode, count, image_size, count,
                     in_memory=True, labels=labels, class_names=class_names)


def load_image_data(source: str, image_size: int | None = None,
                    labelled: bool = False) -> ImageData:
    """Opens an image source (see the module docstring).

    Args:
        source: "cifar10", "celeb_a", "svhn_cropped", "lsun/bedroom", "tfds:NAME[/SPLIT]", a
            folder of images or an .npz file.
        image_size: output height and width; default: the paper's size for its datasets, else the
            shorter side of the (first) image, or of a tfds dataset's fixed image shape.
        labelled: read each image's class too (see the module docstring); an error if the
            source has none.

    Raises:
        FileNotFoundError, NotADirectoryError, ValueError: with a message saying what to fix.
    """
    if image_size is not None and image_size < 1:
        raise ValueError(f"image_size must be ≥ 1, got {image_size}")
    if source.startswith(TFDS_PREFIX) or source in PAPER_DATASETS:
        return _from_tfds(source, image_size, labelled)
    path = Path(source)
    if path.suffix.lower() == ".npz":
        if not path.is_file():
            raise FileNotFoundError(f"image array file {path} does not exist")
        return _from_npz(path, image_size, labelled)
    if not path.exists():
        raise FileNotFoundError(
            f"dataset {source!r} is neither a folder, an .npz file nor a known tfds dataset "
            f"({', '.join(PAPER_DATASETS)} or tfds:NAME/SPLIT)"
        )
    return _from_folder(path, image_size, labelled)


def _physical_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def decoded_in_memory(data: ImageData, budget_bytes: int | None = None) -> ImageData:
    """The source with every image decoded once into memory, if they fit in ``budget_bytes``
    (default: a quarter of the machine's memory); otherwise the source as it is (logged), whose
    images are then decoded again in every epoch.

    The cached source keeps the order of elements and the shuffle blocks of ``data``, so
    training reads the same batches either way: whether a machine has the memory does not
    change a run.
    """
    if data.in_memory:
        return data
    size = data.num_images * data.image_size * data.image_size * 3
    budget = budget_bytes if budget_bytes is not None else int(
        _CACHE_FRACTION_OF_MEMORY * _physical_memory_bytes())
    if size > budget:
        logging.info("%s: the %d decoded images (%.1f GB) exceed the %.1f GB kept in memory: "
                     "they are decoded in every epoch", data.name, data.num_images, size / 1e9,
                     budget / 1e9)
        return data
    logging.info("decoding the %d images of %s once (%.2f GB in memory)", data.num_images,
                 data.name, size / 1e9)
    batches = uint8_images(data).batch(1024).prefetch(tf.data.AUTOTUNE)
    try:
        table = tf.concat(list(batches), axis=0)
    except tf.errors.OpError as error:
        explained = data.find_unreadable(error)
        if explained is None:
            raise
        raise explained from error
    return dataclasses.replace(
        data, elements=tf.data.Dataset.range(data.num_images),
        decode=lambda index: tf.gather(table, index), in_memory=True)


def uint8_images(data: ImageData) -> tf.data.Dataset:
    """All images once, in the source's order: uint8 (image_size, image_size, 3) (for FID stats)."""
    return data.elements.map(data.decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _labelled_elements(data: ImageData) -> tf.data.Dataset:
    """The source's elements, each with its class when the source is labelled."""
    if data.labels is None:
        return data.elements
    return tf.data.Dataset.zip(data.elements, tf.data.Dataset.from_tensor_slices(data.labels))


def training_batches(
    data: ImageData, batch_size: int, seed: int, start_image: int = 0, rows: slice | None = None
) -> tf.data.Dataset:
    """Endless shuffled training batches, float32 (batch_size, size, size, 3) in [-1, 1]; for a
    labelled source (images, labels int32 (batch_size,)).

    Args:
        data: the source.
        batch_size: images per batch; batches run across epoch boundaries.
        seed: the shuffle seed (epoch e is permuted with keys derived from (seed, e)).
        start_image: images already consumed by the run being resumed; the stream continues
            from there (the same batches an uninterrupted run would see).
        rows: only these rows of each batch (one worker's share), decoded alone: batches of
            ``rows.stop − rows.start`` images. None: every row.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    rows = rows or slice(0, batch_size)
    first_epoch, offset = divmod(int(start_image), data.num_images)

    def epoch(index):
        # A stateless permutation of each block of shuffle_buffer elements, keyed by (seed, epoch,
        # block): reproducible from the position alone, and independent of global seeds. The
        # permutation depends on the key and the block's length only, so a labelled source's
        # images come in the same order as unlabelled.
        blocks = _labelled_elements(data).batch(data.shuffle_buffer).enumerate()

        def permute(block_index, block):
            key = tf.stack([tf.constant(seed, tf.int64), index * _EPOCH_SEED_STRIDE + block_index])
            length = tf.shape(tf.nest.flatten(block)[0], out_type=tf.int64)[0]
            order = tf.random.experimental.stateless_shuffle(tf.range(length), seed=key)
            return tf.nest.map_structure(lambda part: tf.gather(part, order), block)

        return blocks.map(permute).unbatch()

    stream = tf.data.Dataset.range(first_epoch, np.iinfo(np.int64).max).flat_map(epoch).skip(offset)
    kept = len(range(batch_size)[rows])
    if kept < batch_size:  # cut the cheap elements, so that the other rows are never decoded
        def these_rows(*parts):  # an element, or (element, label)
            cut = tuple(part[rows] for part in parts)
            return cut if len(cut) > 1 else cut[0]

        stream = stream.batch(batch_size, drop_remainder=True).map(these_rows).unbatch()
    if data.labels is None:
        images = stream.map(data.decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return images.batch(kept, drop_remainder=True).map(_to_training_pixels).prefetch(
            tf.data.AUTOTUNE)
    examples = stream.map(lambda element, label: (data.decode(element), label),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    batches = examples.batch(kept, drop_remainder=True).map(
        lambda images, labels: (_to_training_pixels(images), labels))
    return batches.prefetch(tf.data.AUTOTUNE)


def _to_training_pixels(images: tf.Tensor) -> tf.Tensor:
    """uint8 pixels → float32 in [-1, 1]."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0
