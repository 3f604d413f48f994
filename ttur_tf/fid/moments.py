"""Streaming float64 mean and covariance of feature rows, their exact merge, and partial files.

FID statistics are the mean and the unbiased covariance (``np.cov(rowvar=False)``, ddof = 1) of
N feature rows. ``RunningMoments`` keeps a count, a mean and a scatter matrix (the sum of outer
products of the centred rows) in float64, so memory is O(d²) whatever N is. Parts computed apart
(batches, replicas, workers, shards of a dataset) are combined with Chan et al.'s pairwise merge
of (count, mean, scatter): exact up to float64 rounding, never an average of covariances.

Rows are buffered (``flush_rows``) before the float64 update, so a batch of one image costs a row
copy, not a d×d outer product.

A partial file (``save_partial`` / ``load_partial``) holds one shard's moments:
``count`` (int64), ``mean`` (d,) and ``scatter`` (d, d) float64, with ``shard_index``,
``num_shards``, ``image_size`` and ``graph_sha256``; ``merge_partials`` checks that the shards
of one set are all there once and turns them into the statistics of a single pass.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ttur_tf.files import atomic_output, read_npz

__all__ = ["PartialMoments", "RunningMoments", "load_partial", "merge_partials",
           "save_partial"]

# 512 rows of 2048 float64 features are 8 MiB; the update then costs d² per 512 rows, not per row.
DEFAULT_FLUSH_ROWS = 512


class RunningMoments:
    """Streaming mean and unbiased covariance of row vectors, in float64.

    Args:
        dim: the vectors' length d.
        flush_rows: rows buffered before they are merged into the float64 moments.
    """

    def __init__(self, dim: int, flush_rows: int = DEFAULT_FLUSH_ROWS):
        if flush_rows < 1:
            raise ValueError(f"flush_rows must be ≥ 1, got {flush_rows}")
        self.dim = dim
        self.flush_rows = flush_rows
        self._count = 0
        self._mean = np.zeros(dim, dtype=np.float64)
        self._scatter = np.zeros((dim, dim), dtype=np.float64)
        self._pending: list[np.ndarray] = []
        self._pending_rows = 0

    @classmethod
    def from_moments(cls, count: int, mean: np.ndarray, scatter: np.ndarray) -> RunningMoments:
        """Moments already accumulated: ``count`` rows with this (d,) mean and (d, d) scatter."""
        mean = np.asarray(mean, dtype=np.float64)
        scatter = np.asarray(scatter, dtype=np.float64)
        if mean.ndim != 1 or scatter.shape != (mean.shape[0], mean.shape[0]) or count < 0:
            raise ValueError(f"moments need count ≥ 0, mean (d,) and scatter (d, d); got {count}, "
                             f"{mean.shape} and {scatter.shape}")
        moments = cls(mean.shape[0])
        moments._count, moments._mean, moments._scatter = int(count), mean.copy(), scatter.copy()
        return moments

    def update(self, batch: np.ndarray) -> None:
        """Adds a batch of vectors, (b, d), any float dtype (accumulated in float64)."""
        batch = np.asarray(batch)
        if batch.ndim != 2 or batch.shape[1] != self.dim:
            raise ValueError(f"expected a batch of shape (b, {self.dim}), got {batch.shape}")
        if batch.shape[0] == 0:
            return
        self._pending.append(np.array(batch, dtype=np.float64))
        self._pending_rows += batch.shape[0]
        if self._pending_rows >= self.flush_rows:
            self._flush()

    def merge(self, other: RunningMoments) -> None:
        """Adds every row ``other`` has seen (the result is as if they had been added here)."""
        if other.dim != self.dim:
            raise ValueError(f"cannot merge {other.dim}-dimensional moments into {self.dim}")
        self._flush()
        count, mean, scatter = other.moments()
        self._add(count, mean, scatter)

    def moments(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(count, (d,) mean, (d, d) scatter) of every row added, float64 copies."""
        self._flush()
        return self._count, self._mean.copy(), self._scatter.copy()

    @property
    def count(self) -> int:
        """The number of rows added."""
        return self._count + self._pending_rows

    @property
    def mean(self) -> np.ndarray:
        """(d,) float64 mean of all vectors added."""
        self._flush()
        return self._mean.copy()

    @property
    def covariance(self) -> np.ndarray:
        """(d, d) float64 unbiased covariance (ddof = 1), as ``np.cov(x, rowvar=False)``."""
        if self.count < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {self.count}")
        self._flush()
        return self._scatter / (self._count - 1)

    def _flush(self) -> None:
        if not self._pending:
            return
        rows = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending, self._pending_rows = [], 0
        rows_mean = rows.mean(axis=0)
        centered = rows - rows_mean
        self._add(rows.shape[0], rows_mean, centered.T @ centered)

    def _add(self, count: int, mean: np.ndarray, scatter: np.ndarray) -> None:
        if count == 0:
            return
        total = self._count + count
        delta = mean - self._mean
        self._scatter += scatter + np.outer(delta, delta) * (self._count * count / total)
        self._mean += delta * (count / total)
        self._count = total


@dataclasses.dataclass(frozen=True)
class PartialMoments:
    """One shard's moments, as read from a partial file.

    Attributes:
        moments: the shard's ``RunningMoments``.
        shard_index: which shard, 0 ≤ shard_index < num_shards.
        num_shards: how many shards the whole set was split into.
        image_size: (H, W) if every image of the shard had one size, else None.
        graph_sha256: the Inception graph's SHA-256 ("" if unknown).
    """

    moments: RunningMoments
    shard_index: int
    num_shards: int
    image_size: tuple[int, int] | None
    graph_sha256: str


def save_partial(path: str | os.PathLike, partial: PartialMoments) -> None:
    """Writes one shard's moments atomically as .npz (see the module docstring for the keys).

    Raises:
        OutputError: the file cannot be written.
    """
    count, mean, scatter = partial.moments.moments()
    with atomic_output(path) as out:
        np.savez(
            out,
            count=np.int64(count),
            mean=mean,
            scatter=scatter,
            shard_index=np.int64(partial.shard_index),
            num_shards=np.int64(partial.num_shards),
            image_size=np.array(partial.image_size or (-1, -1), dtype=np.int64),
            graph_sha256=np.str_(partial.graph_sha256),
        )


def load_partial(path: str | os.PathLike) -> PartialMoments:
    """Reads a partial file written by ``save_partial``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a partial-moments .npz (e.g. finished statistics with mu and sigma).
    """
    arrays = read_npz(path, "a partial statistics file")
    missing = {"count", "mean", "scatter", "shard_index", "num_shards"} - set(arrays)
    if missing:
        raise ValueError(f"{path} is not a partial statistics file (no {', '.join(sorted(missing))}"
                         "); write one with precalc_stats.py --num_shards=N --shard_index=I")
    size = tuple(int(v) for v in arrays.get("image_size", ()))
    return PartialMoments(
        moments=RunningMoments.from_moments(int(arrays["count"]), arrays["mean"], arrays["scatter"]),
        shard_index=int(arrays["shard_index"]),
        num_shards=int(arrays["num_shards"]),
        image_size=size if len(size) == 2 and min(size) > 0 else None,
        graph_sha256=str(arrays.get("graph_sha256", "")),
    )


def merge_partials(partials: Sequence[PartialMoments]) -> PartialMoments:
    """The moments of every shard together, checked to be one complete set.

    Raises:
        ValueError: no partials, shards of different sets (num_shards or graph), a shard missing
            or given twice.
    """
    if not partials:
        raise ValueError("no partial statistics to merge")
    num_shards = {partial.num_shards for partial in partials}
    graphs = {partial.graph_sha256 for partial in partials}
    if len(num_shards) > 1:
        raise ValueError(f"the partial files come from different splits (num_shards "
                         f"{sorted(num_shards)}); merge the shards of one run")
    if len(graphs) > 1:
        raise ValueError("the partial files were computed with different Inception graphs; "
                         "recompute them with one --inception_path")
    (total,) = num_shards
    indices = sorted(partial.shard_index for partial in partials)
    if indices != list(range(total)):
        missing = sorted(set(range(total)) - set(indices))
        repeated = sorted({index for index in indices if indices.count(index) > 1})
        raise ValueError(f"expected shards 0..{total - 1} once each; missing {missing or 'none'}, "
                         f"given twice {repeated or 'none'}")
    merged = RunningMoments(partials[0].moments.dim)
    for partial in sorted(partials, key=lambda partial: partial.shard_index):
        merged.merge(partial.moments)
    sizes = {partial.image_size for partial in partials if partial.moments.count}
    return PartialMoments(merged, 0, 1, sizes.pop() if len(sizes) == 1 else None, graphs.pop())
