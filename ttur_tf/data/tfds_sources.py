"""``tfds:NAME[/CONFIG][/SPLIT]`` sources: parsing, and loading with an error that says what to do.

A dataset that is not prepared yet is downloaded and prepared by tensorflow-datasets' own
``download_and_prepare`` into the data directory: ``$TFDS_DATA_DIR`` (read when a dataset is
loaded, not when tfds is imported), else tfds's default ``~/tensorflow_datasets``.
"""

from __future__ import annotations

import os
import re

from ttur_tf.errors import first_line

__all__ = ["TFDS_PREFIX", "load_tfds", "parse_tfds_source", "prepare_tfds", "tfds_data_dir"]

TFDS_PREFIX = "tfds:"
_SPLIT_PATTERN = re.compile(
    r"^(train|test|validation|valid|val|extra|unlabelled|unlabeled|all)\b|[\[\]%+]"
)


def parse_tfds_source(source: str) -> tuple[str, str]:
    """``tfds:NAME[/CONFIG][/SPLIT]`` (prefix optional) → (name, split); split defaults to "train"."""
    spec = source[len(TFDS_PREFIX):] if source.startswith(TFDS_PREFIX) else source
    head, _, last = spec.strip("/").rpartition("/")
    if head and _SPLIT_PATTERN.search(last):
        return head, last
    return spec.strip("/"), "train"


def tfds_data_dir() -> str | None:
    """``$TFDS_DATA_DIR`` if set (None: tfds's default folder)."""
    return os.environ.get("TFDS_DATA_DIR") or None


def prepare_tfds(name: str):
    """Downloads and prepares a tfds dataset in the data directory, as ``tfds.load`` does on first
    use; returns its ``DatasetInfo``.

    Raises:
        ValueError: unknown dataset, or the download or preparation failed (the message says why).
    """
    import tensorflow_datasets as tfds  # imported only when a tfds source is used

    try:
        builder = tfds.builder(name, data_dir=tfds_data_dir())
        builder.download_and_prepare()
    except Exception as error:  # tfds raises many types (DatasetNotFoundError, network errors…)
        raise ValueError(
            f"could not prepare the tfds dataset {name!r} ({type(error).__name__}: "
            f"{first_line(error)})"
        ) from error
    return builder.info


def load_tfds(name: str, split: str, feature: str, **load_kwargs):
    """``tfds.load`` in file order (preparing the dataset first if needed), for a dataset that
    must have ``feature``.

    Returns:
        (dataset of examples, DatasetInfo).

    Raises:
        ValueError: the dataset cannot be loaded (unknown, cannot be downloaded here…) or lacks
            ``feature``; the message says where it was looked for and how to prepare it offline.
    """
    import tensorflow_datasets as tfds  # imported only when a tfds source is used

    data_dir = tfds_data_dir()
    try:
        dataset, info = tfds.load(
            name, split=split, shuffle_files=False, with_info=True, data_dir=data_dir,
            **load_kwargs,
        )
    except Exception as error:  # tfds raises many types (DatasetNotFoundError, network errors…)
        where = data_dir or "~/tensorflow_datasets (set TFDS_DATA_DIR to use another folder)"
        raise ValueError(
            f"could not load the tfds dataset {name!r}, split {split!r}, from {where} "
            f"({type(error).__name__}: {first_line(error)}). For a machine without internet "
            f"access, run `TFDS_DATA_DIR=DIR python scripts/prepare_data.py --dataset=tfds:{name}` "
            "where there is access, copy DIR here and set TFDS_DATA_DIR=DIR; or pass local files "
            "(a folder of images, an .npz, a text file) instead."
        ) from error
    if feature not in info.features:
        raise ValueError(f"the tfds dataset {name!r} has no {feature!r} feature")
    return dataset, info
