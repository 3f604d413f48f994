"""FID statistics: streaming float64 mean and covariance of features, and their .npz files.

Matches bioinf-jku/TTUR fid.py ``calculate_activation_statistics`` (``np.mean`` and
``np.cov(rowvar=False)``, i.e. the unbiased covariance, ddof = 1) without holding the N×2048
feature matrix: batches are merged into a running mean and scatter matrix in float64
(``ttur_tf.fid.moments``), so memory is O(d²) whatever N is. A source can be split into shards
(``num_shards``, ``shard_index``) computed apart and merged exactly (``compute_moments``).

Differences from the original, on purpose:

* Every image is used. The original drops the last partial batch (``n // batch_size`` batches), so
  its FID depends on the batch size; ``drop_remainder=True`` reproduces that count for parity.
* The number of images used, their size and the graph's SHA-256 are stored next to ``mu`` and
  ``sigma`` in the .npz; the original project reads such a file unchanged (it only reads those two
  keys), and its published files load here too.

Sources: a NumPy array (N, H, W, C), a folder of image files, ``"tfds:NAME[/SPLIT]"``, or a
``tf.data.Dataset`` of images (H, W, C) or batches (B, H, W, C). Pixel values must be 0..255.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Iterable

import keras
import numpy as np
from absl import logging

import ttur_tf
from ttur_tf.data.image_sources import image_batches
from ttur_tf.fid.moments import PartialMoments, RunningMoments
from ttur_tf.files import read_npz
from ttur_tf.files import atomic_output

__all__ = [
    "RECOMMENDED_MIN_SAMPLES",
    "RunningMoments",
    "Statistics",
    "compute_moments",
    "compute_statistics",
    "load_statistics",
    "moments_of_batches",
    "statistics_of_batches",
]

# The paper recommends at least 10,000 samples: FID is biased at small N (Heusel et al., App. A1).
RECOMMENDED_MIN_SAMPLES = 10_000

FeatureFn = Callable[[np.ndarray], "tf.Tensor | np.ndarray"]


@dataclasses.dataclass(frozen=True)
class Statistics:
    """FID statistics of a set of images.

    Attributes:
        mu: (2048,) float64 mean of the pool_3 features.
        sigma: (2048, 2048) float64 unbiased covariance of the pool_3 features.
        num_images: how many images they were computed from (0 if unknown, e.g. an original file).
        image_size: (H, W) of the images if they all had one size, else None.
        graph_sha256: SHA-256 of the Inception graph used ("" if unknown).
        features: the (N, 2048) float32 pool_3 features themselves, if kept (KID and
            precision/recall compare features, not moments); None otherwise.
    """

    mu: np.ndarray
    sigma: np.ndarray
    num_images: int = 0
    image_size: tuple[int, int] | None = None
    graph_sha256: str = ""
    features: np.ndarray | None = None

    def save(self, path: str | os.PathLike) -> None:
        """Writes the statistics atomically as .npz with keys mu, sigma (and metadata, and
        ``features`` when kept; the original project reads such a file unchanged).

        Raises:
            OutputError: the file cannot be written (the message says why).
        """
        with atomic_output(path) as out:
            np.savez(
                out,
                mu=self.mu,
                sigma=self.sigma,
                num_images=np.int64(self.num_images),
                image_size=np.array(self.image_size or (-1, -1), dtype=np.int64),
                graph_sha256=np.str_(self.graph_sha256),
                ttur_tf_version=np.str_(ttur_tf.__version__),
                **({} if self.features is None else {"features": self.features}),
            )


def load_statistics(path: str | os.PathLike) -> Statistics:
    """Reads statistics written by ``Statistics.save`` or by the original project.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not an .npz with ``mu`` (d,) and ``sigma`` (d, d).
    """
    arrays = read_npz(path, "an FID statistics file")
    if "mu" not in arrays or "sigma" not in arrays:
        raise ValueError(
            f"{path} has no 'mu' and 'sigma' arrays (keys: {', '.join(arrays)}); "
            "it is not an FID statistics file"
        )
    mu, sigma = arrays["mu"].astype(np.float64), arrays["sigma"].astype(np.float64)
    num_images = int(arrays.get("num_images", 0))
    size = tuple(int(v) for v in arrays.get("image_size", ()))
    sha = str(arrays.get("graph_sha256", ""))
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(
            f"{path}: mu must have shape (d,) and sigma (d, d), got {mu.shape} and {sigma.shape}"
        )
    image_size = size if len(size) == 2 and min(size) > 0 else None
    features = arrays.get("features")
    if features is not None and (features.ndim != 2 or features.shape[1] != mu.shape[0]):
        raise ValueError(f"{path}: features must have shape (N, {mu.shape[0]}), got {features.shape}")
    return Statistics(mu, sigma, num_images, image_size, sha, features)


def warn_about_sample_count(count: int, dim: int) -> None:
    if count <= dim:
        warnings.warn(
            f"only {count} images for {dim}-dimensional features: the covariance is rank-deficient "
            f"and FID is unreliable. Use more than {dim} images, at least "
            f"{RECOMMENDED_MIN_SAMPLES:,} as the TTUR paper recommends.",
            stacklevel=4,
        )
    elif count < RECOMMENDED_MIN_SAMPLES:
        warnings.warn(
            f"only {count} images: FID is biased upwards at small sample sizes; use at least "
            f"{RECOMMENDED_MIN_SAMPLES:,} and compare FIDs only at equal counts.",
            stacklevel=4,
        )


def compute_statistics(
    source,
    features: FeatureFn,
    batch_size: int = 50,
    drop_remainder: bool = False,
    verbose: bool = False,
    graph_sha256: str = "",
) -> Statistics:
    """FID statistics of a set of images.

    Args:
        source: np.ndarray (N, H, W, C) with pixel values 0..255; a folder of image files; a
            string "tfds:NAME[/CONFIG][/SPLIT]" (default split "train"); or a tf.data.Dataset of
            images (H, W, C) or batches (B, H, W, C), pixel values 0..255.
        features: maps a batch (B, H, W, C) to features (B, d), e.g. ``InceptionFeatures``.
        batch_size: images per call of ``features`` (memory is bounded by it, not by N). For
            folders and datasets of single images, images of different sizes go in separate
            batches.
        drop_remainder: use only the first ``N // batch_size * batch_size`` images, as the
            original ``get_activations`` does (for parity with its numbers); default: all images.
        verbose: show a progress bar.
        graph_sha256: recorded in the result (``InceptionFeatures.graph_sha256``).

    Returns:
        The ``Statistics`` (mean, covariance, number of images used, image size).

    Raises:
        ValueError: fewer than 2 images, or bad images (see ``prepare_images``).
    """
    partial = compute_moments(source, features, batch_size, drop_remainder, verbose, graph_sha256)
    return statistics_of_moments(partial)


def compute_moments(
    source,
    features: FeatureFn,
    batch_size: int = 50,
    drop_remainder: bool = False,
    verbose: bool = False,
    graph_sha256: str = "",
    num_shards: int = 1,
    shard_index: int = 0,
) -> PartialMoments:
    """The feature moments of one shard of a set of images: every ``num_shards``-th image from
    ``shard_index`` (all of them for one shard). Merged with ``merge_partials``, the shards give
    the statistics of one pass over all images.

    Args: as ``compute_statistics``, and
        num_shards: how many shards the images are split into (≥ 1).
        shard_index: this shard, 0 ≤ shard_index < num_shards.

    Raises:
        ValueError: a bad shard, drop_remainder with several shards, or bad images.
    """
    images = image_batches(source, batch_size, num_shards, shard_index, drop_remainder)
    moments, image_size = moments_of_batches(images.batches, features,
                                             images.count if verbose else None)
    return PartialMoments(moments, shard_index, num_shards, image_size, graph_sha256)


def moments_of_batches(
    batches: Iterable[np.ndarray], features: FeatureFn, progress_total: int | None = None
) -> tuple[RunningMoments, tuple[int, int] | None]:
    """The moments of the features of batches of images (B, H, W, C), pixel values 0..255.

    Args:
        batches: the images, batch by batch (each batch is one call of ``features``).
        features: maps a batch to features (B, d).
        progress_total: show a progress bar over this many images.

    Returns:
        The moments (count 0 if there was no image) and the image size (H, W) if all shared one.
    """
    progress = None
    if progress_total is not None:
        progress = keras.utils.Progbar(progress_total, unit_name="image")
    moments, sizes = None, set()
    for batch in batches:
        batch_features = np.asarray(features(batch))
        if moments is None:
            moments = RunningMoments(batch_features.shape[1])
        moments.update(batch_features)
        sizes.add(tuple(batch.shape[1:3]))
        if progress is not None:
            progress.add(batch.shape[0])
    return moments or RunningMoments(0), next(iter(sizes)) if len(sizes) == 1 else None


def statistics_of_moments(partial: PartialMoments) -> Statistics:
    """The FID statistics of merged moments (a whole set: one shard, or every shard merged).

    Raises:
        ValueError: fewer than 2 images.
    """
    moments = partial.moments
    if moments.count < 2:
        raise ValueError(f"FID statistics need at least 2 images, got {moments.count}")
    logging.info("FID statistics computed from %d images", moments.count)
    warn_about_sample_count(moments.count, moments.dim)
    return Statistics(moments.mean, moments.covariance, moments.count, partial.image_size,
                      partial.graph_sha256)


def statistics_of_batches(
    batches: Iterable[np.ndarray],
    features: FeatureFn,
    progress_total: int | None = None,
    graph_sha256: str = "",
) -> Statistics:
    """FID statistics of batches of images (B, H, W, C), pixel values 0..255, streamed.

    Args:
        batches: the images, batch by batch (each batch is one call of ``features``).
        features: maps a batch to features (B, d).
        progress_total: show a progress bar over this many images.
        graph_sha256: recorded in the result.

    Raises:
        ValueError: fewer than 2 images, or bad images.
    """
    moments, image_size = moments_of_batches(batches, features, progress_total)
    return statistics_of_moments(PartialMoments(moments, 0, 1, image_size, graph_sha256))
