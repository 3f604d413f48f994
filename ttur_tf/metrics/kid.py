"""Kernel Inception Distance (Bińkowski et al., ICLR 2018, "Demystifying MMD GANs").

KID is the unbiased estimator of the squared maximum mean discrepancy between two sets of
Inception pool_3 features under the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³:

    MMD²ᵤ = Σ_{i≠j} k(xᵢ, xⱼ) / (m(m−1)) + Σ_{i≠j} k(yᵢ, yⱼ) / (n(n−1)) − 2 Σ_{i,j} k(xᵢ, yⱼ) / (mn)

As the reference code (mbinkowski/MMD-GAN ``compute_scores.polynomial_mmd_averages``) it is
averaged over random subsets (100 subsets of 1,000 rows, drawn without replacement within a
subset; every row when a set is smaller) and reported as mean and standard deviation. Unlike FID
it has no bias at small sample sizes, so values from different numbers of samples compare.
Kernels are float64 subset × subset matrices (8 MB each at 1,000 rows), whatever the set sizes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["KernelInceptionDistance", "kernel_inception_distance", "polynomial_mmd2_unbiased"]

DEFAULT_SUBSETS = 100
DEFAULT_SUBSET_SIZE = 1000


@dataclasses.dataclass(frozen=True)
class KernelInceptionDistance:
    """KID over subsets.

    Attributes:
        mean: the mean of the subsets' unbiased MMD² (can be slightly negative: unbiased).
        std: their standard deviation (0 for a single subset).
        subsets: how many subsets were averaged.
        subset_size: rows per subset from each set.
    """

    mean: float
    std: float
    subsets: int
    subset_size: int


def _kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(xᵀy / d + 1)³ for every row pair, float64 (len(x), len(y))."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD² of two feature sets under the cubic polynomial kernel.

    Args:
        x: (m, d) features, m ≥ 2.
        y: (n, d) features, n ≥ 2.

    Raises:
        ValueError: fewer than 2 rows in a set, or different feature lengths.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"expected two feature matrices (m, d) and (n, d), got {x.shape} and {y.shape}")
    m, n = x.shape[0], y.shape[0]
    if min(m, n) < 2:
        raise ValueError(f"KID needs at least 2 samples on each side, got {m} and {n}")
    k_xx, k_yy = _kernel(x, x), _kernel(y, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * _kernel(x, y).mean())


def kernel_inception_distance(
    features_a: np.ndarray,
    features_b: np.ndarray,
    subsets: int = DEFAULT_SUBSETS,
    subset_size: int = DEFAULT_SUBSET_SIZE,
    seed: int = 0,
) -> KernelInceptionDistance:
    """KID between two feature sets, averaged over random subsets.

    Args:
        features_a, features_b: (m, d) and (n, d) features (pool_3: d = 2048), any float dtype.
        subsets: how many subsets (the reference code: 100).
        subset_size: rows per subset; min(subset_size, m, n) is used, so small sets use every
            row (then all subsets are the same and std is 0).
        seed: the subsets' random draw.

    Raises:
        ValueError: fewer than 2 rows on a side, bad shapes or counts.
    """
    if subsets < 1 or subset_size < 2:
        raise ValueError(f"need subsets ≥ 1 and subset_size ≥ 2, got {subsets} and {subset_size}")
    a, b = np.asarray(features_a), np.asarray(features_b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"expected feature matrices (m, d) and (n, d), got {a.shape} and {b.shape}")
    size = min(subset_size, a.shape[0], b.shape[0])
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples on each side, got {a.shape[0]} and {b.shape[0]}")
    if size == a.shape[0] == b.shape[0]:  # every subset would be the whole of both sets
        return KernelInceptionDistance(polynomial_mmd2_unbiased(a, b), 0.0, subsets, size)
    rng = np.random.default_rng(seed)

    def subset(rows: np.ndarray) -> np.ndarray:  # a set of subset size is used whole
        return rows if rows.shape[0] == size else rows[rng.choice(rows.shape[0], size, replace=False)]

    values = [polynomial_mmd2_unbiased(subset(a), subset(b)) for _ in range(subsets)]
    return KernelInceptionDistance(float(np.mean(values)), float(np.std(values)), subsets, size)
