"""``tfds:NAME[/CONFIG][/SPLIT]`` sources: parsing, and loading with an error that says what to do."""

from __future__ import annotations

import re

__all__ = ["TFDS_PREFIX", "load_tfds", "parse_tfds_source"]

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


def load_tfds(name: str, split: str, feature: str, **load_kwargs):
    """``tfds.load`` in file order, for a dataset that must have ``feature``.

    Returns:
        (dataset of examples, DatasetInfo).

    Raises:
        ValueError: the dataset cannot be loaded (not prepared offline, unknown…) or lacks
            ``feature``.
    """
    import tensorflow_datasets as tfds  # imported only when a tfds source is used

    try:
        dataset, info = tfds.load(
            name, split=split, shuffle_files=False, with_info=True, **load_kwargs
        )
    except Exception as error:  # tfds raises many types (DatasetNotFoundError, network errors…)
        raise ValueError(
            f"could not load the tfds dataset {name!r}, split {split!r} ({error}). Offline, "
            "prepare it where TFDS_DATA_DIR points, or pass local files instead."
        ) from error
    if feature not in info.features:
        raise ValueError(f"the tfds dataset {name!r} has no {feature!r} feature")
    return dataset, info
