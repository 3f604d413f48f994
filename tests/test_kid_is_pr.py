"""KID, Inception Score and precision/recall against direct computations of their definitions."""

import itertools

import numpy as np
import pytest
from scipy import special

from ttur_tf.metrics.inception_score import inception_score
from ttur_tf.metrics.kid import kernel_inception_distance, polynomial_mmd2_unbiased
from ttur_tf.metrics.precision_recall import precision_recall


def features(count, dim=8, shift=0.0, seed=0):
    return np.random.default_rng(seed).normal(shift, 1.0, (count, dim)).astype(np.float32)


# --- KID --------------------------------------------------------------------------------------

def direct_mmd2(x, y):
    """The unbiased estimator written out pair by pair, float64."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    d = x.shape[1]
    kernel = lambda a, b: (a @ b / d + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(kernel(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(kernel(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(kernel(a, b) for a in x for b in y) / (m * n)
    return xx + yy - 2 * xy


def test_mmd2_equals_the_estimator_written_out():
    x, y = features(7), features(5, shift=0.3, seed=1)
    assert polynomial_mmd2_unbiased(x, y) == pytest.approx(direct_mmd2(x, y), rel=1e-12)


def test_kid_with_fewer_samples_than_a_subset_uses_every_row_once():
    x, y = features(9), features(11, shift=0.5, seed=1)
    kid = kernel_inception_distance(x, y, subsets=100, subset_size=1000)
    assert kid.subset_size == 9
    # A set larger than the subset size is subsampled (seeded): 9 of y's 11 rows per subset.
    rng = np.random.default_rng(0)
    expected = [direct_mmd2(x, y[rng.choice(11, 9, replace=False)]) for _ in range(100)]
    assert kid.mean == pytest.approx(np.mean(expected), rel=1e-10)
    assert kid.std == pytest.approx(np.std(expected), rel=1e-8)


def test_kid_of_two_sets_of_one_size_below_the_subset_is_their_mmd():
    x, y = features(6), features(6, shift=1.0, seed=1)
    kid = kernel_inception_distance(x, y, subset_size=1000)
    assert (kid.mean, kid.std, kid.subset_size) == (pytest.approx(direct_mmd2(x, y), rel=1e-12), 0.0, 6)


def test_kid_averages_the_subsets_drawn_from_the_seed():
    x, y = features(40), features(30, shift=0.2, seed=1)
    kid = kernel_inception_distance(x, y, subsets=5, subset_size=10, seed=3)
    rng = np.random.default_rng(3)
    expected = [polynomial_mmd2_unbiased(x[rng.choice(40, 10, replace=False)],
                                         y[rng.choice(30, 10, replace=False)]) for _ in range(5)]
    assert kid.mean == pytest.approx(np.mean(expected), rel=1e-12)
    assert kid.std == pytest.approx(np.std(expected), rel=1e-12)


def test_kid_is_unbiased_zero_for_one_distribution_and_large_for_another():
    same = kernel_inception_distance(features(2000), features(2000, seed=1), subsets=20, subset_size=500)
    other = kernel_inception_distance(features(2000), features(2000, shift=1.0, seed=1), subsets=20, subset_size=500)
    assert abs(same.mean) < 3 * same.std + 1e-3
    assert other.mean > 100 * abs(same.mean)


def test_kid_refuses_too_few_samples():
    with pytest.raises(ValueError, match="at least 2 samples on each side"):
        kernel_inception_distance(features(1), features(5))


# --- Inception Score --------------------------------------------------------------------------

def direct_inception_score(logits, splits):
    probabilities = special.softmax(logits.astype(np.float64), axis=1)
    scores = []
    for part in np.array_split(probabilities, splits):
        marginal = part.mean(axis=0)
        scores.append(np.exp(np.mean([np.sum(p * (np.log(p) - np.log(marginal))) for p in part])))
    return np.mean(scores), np.std(scores)


def test_inception_score_equals_the_direct_computation_from_softmax_outputs():
    logits = np.random.default_rng(0).normal(0, 3, (100, 1008)).astype(np.float32)
    score = inception_score(logits, splits=10)
    mean, std = direct_inception_score(logits, 10)
    assert (score.mean, score.std) == (pytest.approx(mean, rel=1e-10), pytest.approx(std, rel=1e-8))


def test_inception_score_is_the_class_count_for_confident_balanced_images_and_1_for_one_class():
    confident = 60.0 * np.eye(10)[np.arange(100) % 10]  # each split: every class once
    assert inception_score(confident, splits=10).mean == pytest.approx(10.0, rel=1e-6)
    assert inception_score(np.tile(confident[:1], (100, 1)), splits=10).mean == pytest.approx(1.0)


def test_inception_score_needs_an_image_per_split():
    with pytest.raises(ValueError, match="9 images for 10 splits"):
        inception_score(np.zeros((9, 1008)))


# --- precision and recall ---------------------------------------------------------------------

def brute_force_precision_recall(real, generated, k):
    def radii(points):
        distances = np.linalg.norm(points[:, None] - points[None], axis=2)
        return np.sort(distances, axis=1)[:, k]  # column 0 is the point itself

    def covered(points, manifold, manifold_radii):
        distances = np.linalg.norm(points[:, None] - manifold[None], axis=2)
        return np.mean((distances <= manifold_radii[None]).any(axis=1))

    real, generated = real.astype(np.float64), generated.astype(np.float64)
    return covered(generated, real, radii(real)), covered(real, generated, radii(generated))


@pytest.mark.parametrize("block_rows", [1, 7, 1000])
def test_precision_recall_equal_brute_force_nearest_neighbours(block_rows):
    real, generated = features(60, dim=3), features(45, dim=3, shift=1.5, seed=1)
    result = precision_recall(real, generated, k=3, block_rows=block_rows)
    assert (result.precision, result.recall) == pytest.approx(brute_force_precision_recall(real, generated, 3))
    assert 0 < result.precision < 1 and 0 < result.recall < 1


def test_identical_sets_have_full_precision_and_recall_and_distant_ones_none():
    real = features(50)
    assert precision_recall(real, real.copy()) == precision_recall(real, real)
    assert (precision_recall(real, real).precision, precision_recall(real, real).recall) == (1.0, 1.0)
    far = precision_recall(real, features(50, shift=100.0, seed=1))
    assert (far.precision, far.recall) == (0.0, 0.0)


def test_a_manifold_needs_more_than_k_points():
    with pytest.raises(ValueError, match="more than 3 points"):
        precision_recall(features(3), features(10))
