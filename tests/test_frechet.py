"""The Fréchet distance: closed forms, the scipy sqrtm reference, and bad inputs."""

import warnings

import numpy as np
import pytest
from scipy import linalg

from ttur_tf.fid import frechet_distance, trace_sqrt_product


def sample_statistics(n, dim, seed, shift=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    features = scale * rng.normal(size=(n, dim)) @ mixing + shift
    return features.mean(axis=0), np.cov(features, rowvar=False)


def scipy_reference(mu1, sigma1, mu2, sigma2):
    """The formula evaluated plainly in float64 with scipy.linalg.sqrtm."""
    covmean = np.real(linalg.sqrtm(sigma1 @ sigma2))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1 + sigma2 - 2 * covmean))


def commuting_pair(eigenvalues1, eigenvalues2, seed=0):
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues1),) * 2))
    return (basis * eigenvalues1) @ basis.T, (basis * eigenvalues2) @ basis.T


def test_equal_covariances_give_the_squared_mean_distance():
    mu1, sigma = sample_statistics(500, 32, seed=0)
    mu2 = mu1 + np.linspace(-1, 1, 32)
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(np.sum((mu1 - mu2) ** 2), rel=1e-8)


def test_identical_statistics_give_zero():
    mu, sigma = sample_statistics(3000, 128, seed=1)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-6


@pytest.mark.parametrize("method", ["eig", "sqrtm"])
def test_matches_the_scipy_sqrtm_formula_on_full_rank_statistics(method):
    mu1, sigma1 = sample_statistics(2000, 128, seed=2)
    mu2, sigma2 = sample_statistics(2000, 128, seed=3, shift=0.3, scale=1.2)
    reference = scipy_reference(mu1, sigma1, mu2, sigma2)
    assert frechet_distance(mu1, sigma1, mu2, sigma2, method=method) == pytest.approx(reference, rel=1e-6)


@pytest.mark.parametrize("method", ["eig", "sqrtm"])
def test_trace_of_ill_conditioned_commuting_pairs_matches_the_closed_form(method):
    # Eigenvalues over 13 orders of magnitude: the regime where scipy 1.11.2's sqrtm went wrong.
    # Round-off of ~1e-16·‖sigma‖ on eigenvalue products near 1e-20 becomes ~1e-7 after the square
    # root, so the attainable accuracy is relative to the norms, not to the trace.
    spread = np.logspace(-10, 3, 64)
    wobble = np.linspace(0.5, 2.0, 64)
    for eigenvalues1, eigenvalues2 in ((spread, spread * wobble), (spread, spread[::-1] * wobble)):
        sigma1, sigma2 = commuting_pair(eigenvalues1, eigenvalues2)
        exact = np.sum(np.sqrt(eigenvalues1 * eigenvalues2))
        value = trace_sqrt_product(sigma1, sigma2, method=method)
        assert value == pytest.approx(exact, rel=1e-7, abs=1e-9 * 1e3)


def test_fid_grows_with_the_disturbance():
    mu, sigma = sample_statistics(2000, 64, seed=4)
    values = [
        frechet_distance(mu, sigma, *sample_statistics(2000, 64, seed=4, shift=s, scale=1 + s))
        for s in (0.0, 0.2, 0.5, 1.0)
    ]
    assert values == sorted(values) and values[0] < values[-1] / 10


def test_too_few_samples_warn_and_still_give_a_finite_value():
    mu1, sigma1 = sample_statistics(100, 256, seed=6)
    mu2, sigma2 = sample_statistics(100, 256, seed=7)
    with pytest.warns(UserWarning, match="rank-deficient"):
        value = frechet_distance(mu1, sigma1, mu2, sigma2)
    assert np.isfinite(value) and value > 0


def test_sqrtm_method_uses_no_deprecated_scipy_arguments():
    mu1, sigma1 = sample_statistics(500, 16, seed=8)
    mu2, sigma2 = sample_statistics(500, 16, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        frechet_distance(mu1, sigma1, mu2, sigma2, method="sqrtm")


def test_singular_product_falls_back_to_the_epsilon_offset_in_the_sqrtm_method():
    zero = np.zeros((8, 8))
    value = frechet_distance(np.zeros(8), zero, np.ones(8), np.eye(8), method="sqrtm")
    assert value == pytest.approx(8 + 8, abs=1e-2)


@pytest.mark.parametrize(
    "mu2, sigma2, message",
    [
        (np.zeros(3), np.eye(3), "different dimensions"),
        (np.zeros(4), np.eye(3), "must be a"),
        (np.zeros((4, 1)), np.eye(4), "must be a vector"),
        (np.full(4, np.nan), np.eye(4), "NaN or Inf"),
        (np.zeros(4), np.diag([1.0, 1.0, 1.0, np.inf]), "NaN or Inf"),
        (np.zeros(4), np.triu(np.ones((4, 4))), "not symmetric"),
        (np.zeros(4), -np.eye(4), "not positive semi-definite"),
    ],
)
def test_bad_statistics_are_clear_errors(mu2, sigma2, message):
    with pytest.raises(ValueError, match=message):
        frechet_distance(np.zeros(4), np.eye(4), mu2, sigma2)


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError, match="method"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2), method="svd")
