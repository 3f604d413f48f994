"""FID between two image sets or statistics files: what ``scripts/fid.py`` runs.

Each side is a folder of images, an ``.npz`` statistics file (ours or the original project's), or a
``tfds:NAME[/SPLIT]`` source. The Inception graph is loaded only if a side needs features.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ttur_tf.fid import frechet, inception, stats

__all__ = ["check_comparable", "check_exists", "fid_between", "statistics_of"]


def _is_statistics_file(source) -> bool:
    return isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() == ".npz"


def statistics_of(
    source,
    features: "inception.InceptionFeatures | None" = None,
    batch_size: int = 50,
    drop_remainder: bool = False,
    verbose: bool = False,
) -> stats.Statistics:
    """Statistics of an .npz file (loaded) or of images (computed with ``features``).

    Args:
        source: an .npz path, a folder of images, "tfds:NAME[/SPLIT]", an array or a dataset
            (see ``stats.compute_statistics``).
        features: the Inception feature function; created with default lookup when None.
        batch_size, drop_remainder, verbose: see ``stats.compute_statistics``.
    """
    if _is_statistics_file(source):
        return stats.load_statistics(source)
    features = features or inception.InceptionFeatures()
    return stats.compute_statistics(
        source,
        features,
        batch_size=batch_size,
        drop_remainder=drop_remainder,
        verbose=verbose,
        graph_sha256=features.graph_sha256,
    )


def check_exists(source) -> None:
    """A path that is not there is a clear error (tfds sources are checked when loaded)."""
    if isinstance(source, (str, os.PathLike)) and not str(source).startswith("tfds:"):
        if not Path(source).exists():
            raise FileNotFoundError(f"{source} does not exist (expected a folder of images or an .npz)")


def check_comparable(first: stats.Statistics, second: stats.Statistics) -> None:
    """Warns when two statistics come from different image sizes or Inception graphs."""
    if first.image_size and second.image_size and first.image_size != second.image_size:
        warnings.warn(
            f"the two sets were computed from images of different sizes ({first.image_size} vs "
            f"{second.image_size}): FID depends strongly on resolution and cropping; compute the "
            "reference statistics at the generated images' size.",
            stacklevel=3,
        )
    if first.graph_sha256 and second.graph_sha256 and first.graph_sha256 != second.graph_sha256:
        warnings.warn(
            "the two statistics were computed with different Inception graphs "
            f"({first.graph_sha256[:12]}… vs {second.graph_sha256[:12]}…): the FID is meaningless.",
            stacklevel=3,
        )


def fid_between(
    source1,
    source2,
    inception_path: str | os.PathLike | None = None,
    batch_size: int = 50,
    drop_remainder: bool = False,
    verbose: bool = False,
) -> tuple[float, stats.Statistics, stats.Statistics]:
    """The FID between two image sets or statistics files.

    Args:
        source1, source2: see ``statistics_of``.
        inception_path: the graph file or folder (default lookup when None).
        batch_size, drop_remainder, verbose: see ``stats.compute_statistics``.

    Returns:
        (fid, statistics of source1, statistics of source2).
    """
    for source in (source1, source2):
        check_exists(source)
    features = None
    if not (_is_statistics_file(source1) and _is_statistics_file(source2)):
        features = inception.InceptionFeatures(inception_path)
    first, second = (
        statistics_of(source, features, batch_size, drop_remainder, verbose)
        for source in (source1, source2)
    )
    check_comparable(first, second)
    return frechet.frechet_distance(first.mu, first.sigma, second.mu, second.sigma), first, second
