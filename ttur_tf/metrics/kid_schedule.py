"""KID-adaptive learning rates (Bińkowski et al., ICLR 2018, "Demystifying MMD GANs", Sec. 5).

At each evaluation the current generator is compared with the one from ``memory`` evaluations
earlier by a relative three-sample test (Bounliphone et al., ICLR 2016) on the unbiased MMD² of
the cubic-kernel KID: X = the first ``samples`` reference features, Y = the first ``samples``
features of the current samples, Z = those of the earlier samples. With
D = MMD²ᵤ(X, Y) − MMD²ᵤ(X, Z) and its estimated variance V, the statistic is D / √V and the p-value
Φ(D / √V) is small when the current generator is closer to the data. As the reference code
(mbinkowski/MMD-GAN ``utils/scorer.py``, ``core/mmd.py``):

* the first ``memory`` evaluations fill the memory (defaults 10: with its evaluations every
  2,000 steps, a comparison with the generator 20,000 steps earlier);
* p ≤ ``p_value`` (0.1): an improvement; the oldest remembered evaluation is dropped, the new one
  appended, the count of failures reset;
* p > 0.1: a failure, and the memory is kept as it is; after ``patience`` (3) failures in a row
  the learning rate is multiplied by ``factor`` (0.5, never below 1e-6), the memory becomes its
  last ``patience`` − 1 entries and the new one (at most ``memory``), and the count restarts.

Here both learning rates decay by the same factor, so their TTUR ratio is kept. Only the row
sums of the kernel matrices are remembered per evaluation (4·samples + 2 numbers), and the whole
state is a set of variables that a checkpoint keeps.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from scipy import stats

__all__ = ["KidAdaptiveSchedule", "kernel_sums", "relative_test"]

_VARIANCE_FLOOR = 1e-5  # the reference's floor under the variance estimate
MIN_LEARNING_RATE = 1e-6  # the reference never decays below it


def kernel_sums(reference: np.ndarray, generated: np.ndarray) -> np.ndarray:
    """What the test needs of one generated set Y against the reference X (both (m, d)), packed
    as one float64 vector [Σ_j≠i k(yᵢ,yⱼ) (m), Σ_{i≠j} k(yᵢ,yⱼ)² (1), Σ_i k(xᵢ,yⱼ) (m),
    Σ_j k(xᵢ,yⱼ) (m), Σ k(x,y)² (1)], with k the cubic kernel (xᵀy/d + 1)³."""
    x, y = np.asarray(reference, np.float64), np.asarray(generated, np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"the test needs two feature sets of one shape (m, d), got {x.shape} and {y.shape}")
    dim = x.shape[1]
    k_xy = (x @ y.T / dim + 1.0) ** 3
    k_yy = (y @ y.T / dim + 1.0) ** 3
    diagonal = np.diag(k_yy)
    return np.concatenate([
        k_yy.sum(axis=1) - diagonal,
        [(k_yy ** 2).sum() - diagonal @ diagonal],
        k_xy.sum(axis=0),
        k_xy.sum(axis=1),
        [(k_xy ** 2).sum()],
    ])


def _unpack(sums: np.ndarray, m: int):
    return sums[:m], sums[m], sums[m + 1:2 * m + 1], sums[2 * m + 1:3 * m + 1], sums[3 * m + 1]


def relative_test(new_sums: np.ndarray, old_sums: np.ndarray) -> tuple[float, float]:
    """(MMD²ᵤ(X, Y) − MMD²ᵤ(X, Z), its ratio to the estimated standard deviation), Y the new
    set and Z the old one (their ``kernel_sums`` against one X)."""
    m = (len(new_sums) - 2) // 3
    yy_rows, yy_squares, xy_columns, xy_rows, xy_squares = _unpack(np.asarray(new_sums), m)
    zz_rows, zz_squares, xz_columns, xz_rows, xz_squares = _unpack(np.asarray(old_sums), m)
    pairs, cells = m * (m - 1), m * m
    yy, zz = yy_rows.sum() / pairs, zz_rows.sum() / pairs
    xy, xz = xy_columns.sum() / cells, xz_columns.sum() / cells
    # Second moments of the U-statistics' kernels, each term an unbiased estimate.
    y_yy_sq = (yy_rows @ yy_rows - yy_squares) / (pairs * (m - 2))
    z_zz_sq = (zz_rows @ zz_rows - zz_squares) / (pairs * (m - 2))
    x_xy_sq = (xy_rows @ xy_rows - xy_squares) / (cells * (m - 1))
    x_xz_sq = (xz_rows @ xz_rows - xz_squares) / (cells * (m - 1))
    y_xy_sq = (xy_columns @ xy_columns - xy_squares) / (cells * (m - 1))
    z_xz_sq = (xz_columns @ xz_columns - xz_squares) / (cells * (m - 1))
    y_yy_xy = yy_rows @ xy_columns / (cells * (m - 1))
    z_zz_xz = zz_rows @ xz_columns / (cells * (m - 1))
    x_xy_xz = xy_rows @ xz_rows / (cells * m)
    kyy2, kzz2 = yy_squares / pairs, zz_squares / pairs
    kxy2, kxz2 = xy_squares / cells, xz_squares / cells

    difference = yy - 2 * xy - zz + 2 * xz
    first_order = 4 * (m - 2) / pairs * (
        y_yy_sq - yy ** 2 + x_xy_sq - xy ** 2 + y_xy_sq - xy ** 2
        + z_zz_sq - zz ** 2 + x_xz_sq - xz ** 2 + z_xz_sq - xz ** 2
        - 2 * y_yy_xy + 2 * yy * xy - 2 * x_xy_xz + 2 * xy * xz - 2 * z_zz_xz + 2 * zz * xz)
    second_order = 2 / pairs * (
        kyy2 - yy ** 2 + 2 * kxy2 - 2 * xy ** 2 + kzz2 - zz ** 2 + 2 * kxz2 - 2 * xz ** 2
        - 4 * y_yy_xy + 4 * yy * xy - 4 * x_xy_xz + 4 * xy * xz - 4 * z_zz_xz + 4 * zz * xz)
    variance = first_order + second_order
    return float(difference), float(difference / np.sqrt(max(variance, _VARIANCE_FLOOR)))


class KidAdaptiveSchedule:
    """The schedule's state (checkpointable variables) and its rule; see the module docstring.

    Args:
        samples: features per set in the test (m; the reference: 2048).
        memory: evaluations remembered (the reference: 10).
        patience: failed tests in a row before a decay (the reference: 3).
        factor: the decay factor of both learning rates (the reference: 0.5).
        p_value: the level below which the new generator counts as better (the reference: 0.1).
    """

    def __init__(self, samples: int = 2048, memory: int = 10, patience: int = 3,
                 factor: float = 0.5, p_value: float = 0.1):
        if min(samples, memory, patience) < 1 or samples < 3 or not 0 < factor < 1:
            raise ValueError(f"need samples ≥ 3, memory and patience ≥ 1 and 0 < factor < 1; got "
                             f"{samples}, {memory}, {patience}, {factor}")
        self.samples, self.memory, self.patience = samples, memory, patience
        self.factor, self.p_value = factor, p_value
        self.saved = tf.Variable(np.zeros((memory, 3 * samples + 2)), dtype=tf.float64,
                                 trainable=False, name="kid_schedule_saved")
        self.saved_count = tf.Variable(0, dtype=tf.int64, trainable=False, name="kid_schedule_saved_count")
        self.failures = tf.Variable(0, dtype=tf.int64, trainable=False, name="kid_schedule_failures")

    @property
    def tracked(self) -> dict[str, tf.Variable]:
        return dict(kid_schedule_saved=self.saved, kid_schedule_saved_count=self.saved_count,
                    kid_schedule_failures=self.failures)

    def _remember(self, entries: list[np.ndarray]) -> None:
        saved = np.zeros(self.saved.shape)
        saved[:len(entries)] = entries
        self.saved.assign(saved)
        self.saved_count.assign(len(entries))

    def update(self, reference: np.ndarray, generated: np.ndarray) -> tuple[bool, float | None]:
        """Takes one evaluation's features; returns (whether to decay now, the test's p-value or
        None while the memory fills).

        Raises:
            ValueError: fewer than ``samples`` features on a side.
        """
        if min(len(reference), len(generated)) < self.samples:
            raise ValueError(f"the KID-adaptive test compares {self.samples} features per set; "
                             f"got {len(reference)} reference and {len(generated)} generated "
                             "(raise --fid_num_samples or lower --lr_schedule_samples)")
        new = kernel_sums(reference[:self.samples], generated[:self.samples])
        count = int(self.saved_count.numpy())
        entries = list(self.saved.numpy()[:count])
        if count < self.memory:
            self._remember(entries + [new])
            return False, None
        _, statistic = relative_test(new, entries[0])
        p = float(stats.norm.cdf(statistic))
        if p <= self.p_value:  # the new generator is closer to the data than the remembered one
            self._remember(entries[1:] + [new])
            self.failures.assign(0)
            return False, p
        failures = int(self.failures.numpy()) + 1
        if failures >= self.patience:
            self._remember((entries + [new])[-min(self.patience, self.memory):])
            self.failures.assign(0)
            return True, p
        self.failures.assign(failures)
        return False, p

    def decayed(self, learning_rate: float) -> float:
        """The learning rate after one decay (never below 1e-6, as the reference)."""
        return max(learning_rate * self.factor, MIN_LEARNING_RATE)
