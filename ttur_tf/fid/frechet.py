"""The Fréchet distance between two Gaussians, as used by FID (TTUR paper, Eq. 6; bioinf-jku/TTUR fid.py).

    d² = ‖mu1 − mu2‖² + Tr(sigma1 + sigma2 − 2·(sigma1·sigma2)^½)

NumPy/SciPy only: this module knows nothing about Inception or images.

Two ways to get Tr((sigma1·sigma2)^½):

* ``method="eig"`` (default): sigma1·sigma2 is not symmetric, so its eigenvalues computed
  directly can come out negative or complex and give wrong FIDs (torch-fidelity#46). It is similar
  to a symmetric positive semi-definite matrix M with the same eigenvalues, so
  Tr((sigma1·sigma2)^½) = Σ √λᵢ(M): M = Lᵀ·sigma2·L with sigma1 = L·Lᵀ (Cholesky) when a covariance
  is positive definite, else M = sigma1^½·sigma2·sigma1^½ through an eigendecomposition. Float64
  throughout; round-off negatives are clamped to 0. Singular covariances (fewer samples than
  dimensions) need no ε offset: the formula is exact for any positive semi-definite pair.
* ``method="sqrtm"``: the original's algorithm, kept as the reference for parity tests:
  ``scipy.linalg.sqrtm`` of the product, retried with ε on both diagonals when the result is not
  finite, and an error when the diagonal's imaginary part exceeds 1e-3.

Values for two nearly identical sets can come out slightly negative (≈ −1e-10 relative to the
traces) from round-off; they are returned as computed, not clamped.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

__all__ = ["frechet_distance", "trace_sqrt_product"]

# Relative size (to the largest eigenvalue) below which a negative eigenvalue is round-off.
_NEGATIVE_EIGENVALUE_TOLERANCE = 1e-6


def _validated(mu: np.ndarray, sigma: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if mu.ndim != 1:
        raise ValueError(f"mu{name} must be a vector (d,), got shape {mu.shape}")
    if sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(
            f"sigma{name} must be a ({mu.shape[0]}, {mu.shape[0]}) matrix to match mu{name}, "
            f"got shape {sigma.shape}"
        )
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError(
            f"mu{name}/sigma{name} contain NaN or Inf: the statistics are broken (a NaN image, "
            "a diverged generator or a corrupt .npz); recompute them"
        )
    scale = max(np.abs(sigma).max(), np.finfo(np.float64).tiny)
    if np.abs(sigma - sigma.T).max() > 1e-6 * scale:
        raise ValueError(f"sigma{name} is not symmetric: it is not a covariance matrix")
    return mu, sigma


def _psd_eigenvalues(matrix: np.ndarray, what: str, eigenvectors: bool = False):
    """Eigenvalues (and vectors) of a symmetric matrix, round-off negatives clamped to 0."""
    symmetric = (matrix + matrix.T) / 2
    if eigenvectors:
        values, vectors = np.linalg.eigh(symmetric)
    else:
        values, vectors = np.linalg.eigvalsh(symmetric), None
    largest = max(values[-1], 0.0)
    if values[0] < -_NEGATIVE_EIGENVALUE_TOLERANCE * max(largest, np.finfo(np.float64).tiny):
        raise ValueError(
            f"{what} is not positive semi-definite (smallest eigenvalue {values[0]:.3g}, largest "
            f"{largest:.3g}): it is not a covariance matrix"
        )
    return np.clip(values, 0.0, None), vectors


def _warn_if_rank_deficient(eigenvalues: np.ndarray) -> None:
    dim = eigenvalues.shape[0]
    threshold = dim * np.finfo(np.float64).eps * max(eigenvalues[-1], np.finfo(np.float64).tiny)
    rank = int((eigenvalues > threshold).sum())
    if rank < dim:
        warnings.warn(
            f"the covariances are rank-deficient (numerical rank of sigma1·sigma2: {rank} < {dim}): "
            "computed from too few samples (need more than the feature dimension; use at least "
            "10,000 images) or from a collapsed generator. The FID is finite but not comparable "
            "with published values.",
            stacklevel=4,
        )


def _similar_symmetric_product(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """A symmetric PSD matrix with the eigenvalues of sigma1·sigma2.

    With a Cholesky factor sigma1 = L·Lᵀ (full rank, the usual case) that is Lᵀ·sigma2·L; if
    neither covariance is positive definite, sigma1 = V·diag(w)·Vᵀ gives
    diag(√w)·Vᵀ·sigma2·V·diag(√w), similar to sigma1^½·sigma2·sigma1^½.
    """
    for first, second in ((sigma1, sigma2), (sigma2, sigma1)):
        try:
            factor = np.linalg.cholesky(first)
        except np.linalg.LinAlgError:
            continue
        return factor.T @ second @ factor
    values, vectors = _psd_eigenvalues(sigma1, "sigma1", eigenvectors=True)
    scaled = vectors * np.sqrt(values)
    return scaled.T @ sigma2 @ scaled


def _trace_sqrt_eig(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    similar = _similar_symmetric_product(sigma1, sigma2)
    values, _ = _psd_eigenvalues(similar, "sigma1·sigma2 (a covariance)")
    _warn_if_rank_deficient(values)
    return float(np.sqrt(values).sum())


def _trace_sqrt_sqrtm(sigma1: np.ndarray, sigma2: np.ndarray, eps: float) -> float:
    # `disp` is deliberately not passed: deprecated in scipy 1.16 and removed in 1.18.
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        warnings.warn(
            f"sigma1·sigma2 is singular; adding {eps} to the diagonal of both covariances "
            "(as the original fid.py does)",
            stacklevel=3,
        )
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(
                f"sqrtm(sigma1·sigma2) has a large imaginary component "
                f"({np.abs(covmean.imag).max():.3g}): the covariances are degenerate; use more "
                "samples or method='eig'"
            )
        covmean = covmean.real
    return float(np.trace(covmean))


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray, method: str = "eig", eps: float = 1e-6) -> float:
    """Tr((sigma1·sigma2)^½) for two covariance matrices.

    Args:
        sigma1, sigma2: (d, d) symmetric positive semi-definite matrices, any float dtype
            (computed in float64).
        method: "eig" (default, symmetric eigendecompositions) or "sqrtm" (the original's
            ``scipy.linalg.sqrtm`` with its ε fallback), see the module docstring.
        eps: the diagonal offset of the "sqrtm" fallback.

    Returns:
        The trace as a Python float (≥ 0).
    """
    if method == "eig":
        return _trace_sqrt_eig(sigma1, sigma2)
    if method == "sqrtm":
        return _trace_sqrt_sqrtm(sigma1, sigma2, eps)
    raise ValueError(f"method must be 'eig' or 'sqrtm', got {method!r}")


def frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    method: str = "eig",
    eps: float = 1e-6,
) -> float:
    """The squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2): the FID.

    Args:
        mu1, mu2: (d,) means, e.g. of Inception pool_3 features (d = 2048).
        sigma1, sigma2: (d, d) covariance matrices (unbiased, as ``np.cov(rowvar=False)``).
        method: "eig" (default, fast and robust) or "sqrtm" (the original's algorithm).
        eps: the diagonal offset of the "sqrtm" method's fallback for singular products.

    Returns:
        d² = ‖mu1 − mu2‖² + Tr(sigma1) + Tr(sigma2) − 2·Tr((sigma1·sigma2)^½), a Python float.
        FID has a small-sample bias: compare values only at equal sample counts (≥ 10,000 images).

    Raises:
        ValueError: on shape mismatches, NaN/Inf, non-symmetric or non-PSD covariances, or (method
            "sqrtm") a large imaginary part.
    """
    mu1, sigma1 = _validated(mu1, sigma1, "1")
    mu2, sigma2 = _validated(mu2, sigma2, "2")
    if mu1.shape != mu2.shape:
        raise ValueError(
            f"the two statistics have different dimensions: mu1 {mu1.shape} vs mu2 {mu2.shape}; "
            "both must come from the same feature layer (pool_3: 2048)"
        )
    diff = mu1 - mu2
    trace_covmean = trace_sqrt_product(sigma1, sigma2, method=method, eps=eps)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_covmean)
