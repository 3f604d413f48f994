"""N-gram language models and their Jensen-Shannon divergence, vectorised with NumPy.

Same definitions and values as ``NgramLanguageModel`` in bioinf-jku/TTUR
``WGAN_GP/language_helpers.py`` (from igul222/improved_wgan_training), which the paper uses to
score its One Billion Word GAN (JSD of n = 1…6): the n-grams of a sample are all its length-n
windows; a model's probability of an n-gram is its count over the total number of n-grams;
``js_with`` is the Jensen-Shannon divergence in bits (0 for identical distributions, 1 for
disjoint ones), summed over each model's own support with −inf log-likelihoods for unseen n-grams.

Instead of a dict of tuples, tokens get integer ids (one vocabulary shared by all models of the
process, so models built separately compare exactly), each n-gram is a row of n int32 ids viewed
as one fixed-size byte string, and counting and lookups are ``np.unique`` / ``np.searchsorted`` on
those rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["NgramLanguageModel", "tokenize_string"]

_LN2 = np.log(2.0)
_VOCABULARY: dict = {}


def tokenize_string(sample: str) -> tuple[str, ...]:
    """Lower-cased, split on single spaces: the original's word tokenizer."""
    return tuple(sample.lower().split(" "))


def _token_ids(sample: Sequence) -> np.ndarray:
    return np.fromiter(
        (_VOCABULARY.setdefault(token, len(_VOCABULARY)) for token in sample), np.int32, len(sample)
    )


def _ngram_rows(samples: Iterable[Sequence], n: int) -> np.ndarray:
    """All length-n windows of all samples as one (count,) array of n·4-byte keys."""
    windows = []
    for sample in samples:
        if len(sample) >= n:
            windows.append(np.lib.stride_tricks.sliding_window_view(_token_ids(sample), n))
    key = np.dtype((np.void, 4 * n))
    if not windows:
        return np.empty(0, key)
    return np.ascontiguousarray(np.concatenate(windows)).view(key).ravel()


class NgramLanguageModel:
    """The n-gram distribution of a set of samples.

    Args:
        n: the n-gram length (≥ 1).
        samples: a sequence of samples, each a sequence of tokens (e.g. a string or a tuple of
            characters); with ``tokenize=True``, strings split into lower-cased words.
        tokenize: apply ``tokenize_string`` to each sample first.
    """

    def __init__(self, n: int, samples: Iterable[Sequence], tokenize: bool = False):
        if n < 1:
            raise ValueError(f"n must be ≥ 1, got {n}")
        if tokenize:
            samples = [tokenize_string(sample) for sample in samples]
        self._n = n
        self._keys, self._counts = np.unique(_ngram_rows(samples, n), return_counts=True)
        self._total = int(self._counts.sum())

    @property
    def n(self) -> int:
        return self._n

    @property
    def total_ngrams(self) -> int:
        """The number of n-grams (windows) counted."""
        return self._total

    def __len__(self) -> int:
        """The number of distinct n-grams."""
        return len(self._keys)

    def _counts_of(self, keys: np.ndarray) -> np.ndarray:
        """This model's counts of ``keys`` (0 where unseen)."""
        if len(self._keys) == 0:
            return np.zeros(len(keys), np.int64)
        index = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        found = self._keys[index] == keys
        return np.where(found, self._counts[index], 0)

    def _log_probabilities(self, keys: np.ndarray) -> np.ndarray:
        counts = self._counts_of(keys)
        with np.errstate(divide="ignore"):
            return np.log(counts) - np.log(self._total) if self._total else np.full(len(keys), -np.inf)

    def _check_comparable(self, other: "NgramLanguageModel") -> None:
        if other._n != self._n:
            raise ValueError(f"cannot compare {self._n}-gram and {other._n}-gram models")
        if self._total == 0 or other._total == 0:
            raise ValueError("a model has no n-grams (all samples shorter than n)")

    def log_likelihood(self, ngram: Sequence) -> float:
        """log P(ngram), −inf for an n-gram never seen."""
        if len(ngram) != self._n:
            raise ValueError(f"expected an n-gram of length {self._n}, got {len(ngram)}")
        key = _ngram_rows([tuple(ngram)], self._n)
        return float(self._log_probabilities(key)[0])

    def kl_to(self, p: "NgramLanguageModel") -> float:
        """Mean over p's n-grams (with multiplicity) of log p − log self: KL(p ‖ self), in nats."""
        self._check_comparable(p)
        ratios = p._log_probabilities(p._keys) - self._log_probabilities(p._keys)
        return float(np.sum(p._counts * ratios) / p._total)

    def cosine_sim_with(self, p: "NgramLanguageModel") -> float:
        """Cosine similarity of the two probability vectors."""
        self._check_comparable(p)
        p_probabilities = p._counts / p._total
        q_on_p = self._counts_of(p._keys) / self._total
        q_probabilities = self._counts / self._total
        return float(np.dot(p_probabilities, q_on_p)
                     / (np.sqrt(np.sum(p_probabilities**2)) * np.sqrt(np.sum(q_probabilities**2))))

    def precision_wrt(self, p: "NgramLanguageModel") -> float:
        """The fraction of this model's n-grams (with multiplicity) that p has seen."""
        self._check_comparable(p)
        return float(np.sum(self._counts[p._counts_of(self._keys) > 0]) / self._total)

    def recall_wrt(self, p: "NgramLanguageModel") -> float:
        """``p.precision_wrt(self)``."""
        return p.precision_wrt(self)

    def js_with(self, p: "NgramLanguageModel") -> float:
        """Jensen-Shannon divergence between p and this model, in bits, in [0, 1]."""
        self._check_comparable(p)
        log_p = p._log_probabilities(p._keys)
        log_q = self._log_probabilities(p._keys)
        log_m = np.logaddexp(log_p - _LN2, log_q - _LN2)
        kl_p_m = np.sum(np.exp(log_p) * (log_p - log_m))
        log_p = p._log_probabilities(self._keys)
        log_q = self._log_probabilities(self._keys)
        log_m = np.logaddexp(log_p - _LN2, log_q - _LN2)
        kl_q_m = np.sum(np.exp(log_q) * (log_q - log_m))
        return float(0.5 * (kl_p_m + kl_q_m) / _LN2)
