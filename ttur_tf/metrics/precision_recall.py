"""Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019).

Each set of features spans a manifold: the union of balls around its points, each ball reaching
the point's k-th nearest neighbour in the same set (k = 3; the point itself not counted).
Precision is the fraction of generated samples inside the real manifold (quality), recall the
fraction of real samples inside the generated manifold (coverage). As the authors' code
(kynkaat/improved-precision-and-recall-metric) it works on squared Euclidean distances between
pool_3 features; here in float64, in row blocks, so 50,000 × 50,000 comparisons need memory for
one block × N distances only.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["PrecisionRecall", "manifold_radii", "precision_recall", "within_manifold"]

DEFAULT_K = 3
DEFAULT_BLOCK_ROWS = 1000


@dataclasses.dataclass(frozen=True)
class PrecisionRecall:
    """Precision and recall in [0, 1], and the neighbourhood size k."""

    precision: float
    recall: float
    k: int


def _squared_distances(a: np.ndarray, b: np.ndarray, b_squared_norms: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) squared Euclidean distances, clipped at 0 against rounding."""
    a_squared_norms = np.einsum("ij,ij->i", a, a)[:, np.newaxis]
    return np.maximum(a_squared_norms - 2.0 * a @ b.T + b_squared_norms[np.newaxis], 0.0)


def manifold_radii(features: np.ndarray, k: int = DEFAULT_K,
                   block_rows: int = DEFAULT_BLOCK_ROWS) -> np.ndarray:
    """(N,) squared distance of each point to its k-th nearest neighbour in the same set.

    Raises:
        ValueError: not more than k points.
    """
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or features.shape[0] <= k:
        raise ValueError(f"a manifold with k = {k} needs more than {k} points (N, d), got shape "
                         f"{features.shape}")
    norms = np.einsum("ij,ij->i", features, features)
    radii = np.empty(features.shape[0])
    for start in range(0, features.shape[0], block_rows):
        distances = _squared_distances(features[start:start + block_rows], features, norms)
        # Position 0 of each sorted row is the point itself (distance 0): position k is the
        # k-th neighbour.
        radii[start:start + block_rows] = np.partition(distances, k, axis=1)[:, k]
    return radii


def within_manifold(points: np.ndarray, manifold: np.ndarray, radii: np.ndarray,
                    block_rows: int = DEFAULT_BLOCK_ROWS) -> np.ndarray:
    """(M,) bool: whether each point lies in some ball of the manifold (distance² ≤ radius²)."""
    points, manifold = np.asarray(points, np.float64), np.asarray(manifold, np.float64)
    norms = np.einsum("ij,ij->i", manifold, manifold)
    inside = np.empty(points.shape[0], dtype=bool)
    for start in range(0, points.shape[0], block_rows):
        distances = _squared_distances(points[start:start + block_rows], manifold, norms)
        inside[start:start + block_rows] = (distances <= radii[np.newaxis]).any(axis=1)
    return inside


def precision_recall(real: np.ndarray, generated: np.ndarray, k: int = DEFAULT_K,
                     block_rows: int = DEFAULT_BLOCK_ROWS) -> PrecisionRecall:
    """Improved precision and recall of generated features against real ones.

    Args:
        real: (N, d) features of real images (the reference: 50,000 of each).
        generated: (M, d) features of generated images.
        k: the neighbourhood size (the reference: 3).
        block_rows: rows of distances computed at once (memory: block_rows × max(N, M) float64).

    Raises:
        ValueError: a set of k points or fewer, or different feature lengths.
    """
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    if real.ndim != 2 or generated.ndim != 2 or real.shape[1] != generated.shape[1]:
        raise ValueError(f"expected features (N, d) and (M, d), got {real.shape} and {generated.shape}")
    precision = within_manifold(generated, real, manifold_radii(real, k, block_rows), block_rows)
    recall = within_manifold(real, generated, manifold_radii(generated, k, block_rows), block_rows)
    return PrecisionRecall(float(precision.mean()), float(recall.mean()), k)
