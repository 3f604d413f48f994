"""Every requested metric between two image sets or statistics files: what ``scripts/fid.py``
runs. Each side is read once (``collect_features``), whatever the metrics.

The first side is the one judged (generated images): the Inception Score is its own; precision
is the share of its images on the second side's manifold, recall the reverse.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ttur_tf.data.image_sources import image_batches
from ttur_tf.fid.compare import check_comparable, check_exists
from ttur_tf.fid.inception import InceptionFeatures
from ttur_tf.fid.stats import Statistics, load_statistics
from ttur_tf.files import npz_keys
from ttur_tf.metrics.image_metrics import collect_features, image_scores, parse_metrics

__all__ = ["scores_between", "side_features"]


def _is_statistics_file(source) -> bool:
    return isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() == ".npz" \
        and not _holds_images(source)


def _holds_images(path) -> bool:
    return "mu" not in npz_keys(path, "an FID statistics file or an .npz of images")


def side_features(source, features: InceptionFeatures | None, metrics, batch_size: int = 50,
                  drop_remainder: bool = False, verbose: bool = False
                  ) -> tuple[Statistics, "np.ndarray | None"]:
    """One side: loaded statistics, or one pass over its images; and its class logits (only
    for images and the ``is`` metric).

    Raises:
        ValueError: the Inception Score asked of a statistics file (it needs images).
    """
    if _is_statistics_file(source):
        if "is" in metrics:
            raise ValueError(f"{source} holds statistics, not images: the Inception Score is "
                             "computed from the images themselves")
        return load_statistics(source), None
    images = image_batches(source, batch_size, drop_remainder=drop_remainder)
    collector, image_size = collect_features(images.batches, features, metrics,
                                             images.count if verbose else None)
    return collector.statistics(image_size, features.graph_sha256), collector.logits


def scores_between(
    source1,
    source2,
    metrics="fid",
    inception_path: str | os.PathLike | None = None,
    batch_size: int = 50,
    drop_remainder: bool = False,
    verbose: bool = False,
    seed: int = 0,
) -> tuple[dict[str, float], Statistics, Statistics]:
    """The requested metrics of ``source1`` against ``source2``.

    Args:
        source1: the judged set: a folder of images, an .npz (images, or statistics with
            features for kid/pr), "tfds:NAME[/SPLIT]", an array or a dataset.
        source2: the reference set, the same kinds.
        metrics: "fid,kid,is,pr" or any part of it.
        inception_path: the graph (default lookup when None).
        batch_size, drop_remainder, verbose: see ``ttur_tf.fid.compute_statistics``.
        seed: KID's subsets.

    Returns:
        (scores as ``image_scores`` names them, statistics of source1, of source2).
    """
    metrics = parse_metrics(metrics)
    for source in (source1, source2):
        check_exists(source)
    features = None
    if not (_is_statistics_file(source1) and _is_statistics_file(source2)):
        features = InceptionFeatures(inception_path)
    first, logits = side_features(source1, features, metrics, batch_size, drop_remainder, verbose)
    reference_metrics = tuple(name for name in metrics if name != "is") or ("fid",)
    second, _ = side_features(source2, features, reference_metrics, batch_size, drop_remainder,
                              verbose)
    check_comparable(first, second)
    return image_scores(metrics, first, second, logits, seed=seed), first, second
