"""BigGAN's orthogonal regularization against its closed form, and orthogonal initialisation."""

import numpy as np
import pytest

from ttur_tf.models.orthogonal import kernels_of, orthogonal_penalty, orthogonally_initialize
from ttur_tf.training import TrainConfig, build_gan

RNG = np.random.default_rng(0)


def _reference(kernel: np.ndarray) -> float:
    w = kernel.reshape(-1, kernel.shape[-1]).T.astype(np.float64)  # (filters, -1)
    gram = w @ w.T
    return float(np.sum((gram * (1 - np.eye(len(gram)))) ** 2))


def test_the_penalty_is_the_squared_off_diagonal_of_the_filters_gram_matrix():
    filters = np.array([[1.0, 0.0], [1.0, 1.0]], np.float32)  # W Wᵀ = [[1, 1], [1, 2]]
    assert float(orthogonal_penalty([filters.T])) == pytest.approx(2.0)
    conv = RNG.normal(size=(3, 3, 4, 5)).astype(np.float32)
    dense = RNG.normal(size=(6, 7)).astype(np.float32)
    assert float(orthogonal_penalty([conv, dense])) == pytest.approx(
        _reference(conv) + _reference(dense), rel=1e-5)


def test_orthogonally_initialized_filters_are_orthonormal_and_unpenalized():
    gan = build_gan(TrainConfig("run", "data", model="dcgan", dim=4, orthogonal_init=True),
                    image_size=16)
    kernels = kernels_of(gan.discriminator)
    for kernel in kernels:  # every one has at most as many filters as inputs
        rows = kernel.numpy().reshape(-1, kernel.shape[-1]).T
        assert rows.shape[0] <= rows.shape[1]
        np.testing.assert_allclose(rows @ rows.T, np.eye(len(rows)), atol=1e-5)
    assert float(orthogonal_penalty(kernels)) < 1e-9


def test_the_generator_penalty_is_beta_times_the_penalty_of_its_kernels():
    gan = build_gan(TrainConfig("run", "data", model="dcgan", dim=4, ortho_reg=1e-4),
                    image_size=16)
    expected = 1e-4 * sum(_reference(kernel.numpy()) for kernel in kernels_of(gan.generator))
    assert float(gan.generator_penalty()) == pytest.approx(expected, rel=1e-4)
    off = build_gan(TrainConfig("run", "data", model="dcgan", dim=4), image_size=16)
    assert off.generator_penalty is None


def test_orthogonally_initialize_draws_new_kernels_from_the_seed():
    gan = build_gan(TrainConfig("run", "data", model="dcgan", dim=4), image_size=16)
    before = [kernel.numpy() for kernel in kernels_of(gan.generator)]
    orthogonally_initialize(gan.generator, seed=3)
    after = [kernel.numpy() for kernel in kernels_of(gan.generator)]
    assert all(not np.array_equal(old, new) for old, new in zip(before, after))
    orthogonally_initialize(gan.generator, seed=3)
    for first, again in zip(after, kernels_of(gan.generator)):
        np.testing.assert_array_equal(first, again.numpy())
