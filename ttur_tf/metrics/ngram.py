"""N-gram language models and their Jensen-Shannon divergence, vectorised with NumPy.

Same definitions and values as ``NgramLanguageModel`` in bioinf-jku/TTUR
``WGAN_GP/language_helpers.py`` (from igul222/improved_wgan_training), which the paper uses to
score its One Billion Word GAN (JSD of n = 1…6): the n-grams of a sample are all its length-n
windows; a model's probability of an n-gram is its count over the total number of n-grams;
``js_with`` is the Jensen-Shannon divergence in bits (0 for identical distributions, 1 for
disjoint ones), summed over each model's own support with −inf log-likelihoods for unseen n-grams.

Instead of a dict of tuples:

- tokens get integer ids from one vocabulary shared by all models of the process, so models built
  separately compare exactly; a string sample is read as its characters in one vectorised step,
  and a 2-D integer array as rows of integer tokens;
- each n-gram becomes one sortable key: its n ids packed into a uint64 (``b`` bits per id, the
  model's widest id) when n·b ≤ 64, otherwise n big-endian uint32 ids as one fixed-size byte
  string; counting is a bincount when the keys span at most 2**22 values and ``np.unique``
  otherwise, over chunks of windows merged as they accumulate, so memory stays near the size of
  the result; ids are stored in the smallest unsigned dtype that holds them;
- comparisons look up only the smaller model's n-grams in the larger one. The JS divergence needs
  only the shared n-grams: each unshared n-gram of P contributes P(x)·ln 2 to KL(P‖M), so those
  sum to (1 − P(shared))·ln 2 without visiting them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice

import numpy as np

__all__ = ["NgramLanguageModel", "tokenize_string"]

_LN2 = np.log(2.0)
_VOCABULARY: dict = {}  # token → id, shared by every model of the process
_SAMPLES_PER_CHUNK = 65_536
_WINDOWS_PER_CHUNK = 1 << 22
_TABLE_LIMIT = 1 << 24
_BINCOUNT_BITS = 22


def tokenize_string(sample: str) -> tuple[str, ...]:
    """Lower-cased, split on single spaces: the original's word tokenizer."""
    return tuple(sample.lower().split(" "))


def _ids_of_unique_tokens(tokens: Iterable) -> np.ndarray:
    return np.array([_VOCABULARY.setdefault(token, len(_VOCABULARY)) for token in tokens], np.int64)


def _ids_through_a_table(values: np.ndarray, to_token) -> np.ndarray:
    """Non-negative integers below _TABLE_LIMIT (code points, character ids) → token ids, O(N)."""
    flat = values.ravel()
    occurrences = np.bincount(flat)
    present = np.flatnonzero(occurrences)
    table = np.zeros(len(occurrences), np.int64)
    table[present] = _ids_of_unique_tokens(map(to_token, present.tolist()))
    return table[flat]


def _compact(ids: np.ndarray) -> np.ndarray:
    """Ids in the smallest unsigned dtype that holds every id so far (memory of large corpora)."""
    return ids.astype(np.min_scalar_type(max(len(_VOCABULARY) - 1, 0)))


def _encode_chunk(chunk: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of a chunk of samples: (flat unsigned ids, per-sample lengths int64)."""
    if isinstance(chunk, np.ndarray):  # rows of integer tokens
        lengths = np.full(len(chunk), chunk.shape[1], np.int64)
        if chunk.size and chunk.min() >= 0 and chunk.max() < _TABLE_LIMIT:
            return _compact(_ids_through_a_table(chunk, int)), lengths
        unique, inverse = np.unique(chunk, return_inverse=True)
        return _compact(_ids_of_unique_tokens(unique.tolist())[inverse.ravel()]), lengths
    lengths = np.fromiter(map(len, chunk), np.int64, len(chunk))
    try:
        joined = "".join(chunk)  # all samples are strings: their characters, in one pass
    except TypeError:
        joined = None
    if joined is not None:
        codepoints = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
        return _compact(_ids_through_a_table(codepoints, chr)), lengths
    ids = [_VOCABULARY.setdefault(token, len(_VOCABULARY)) for sample in chunk for token in sample]
    return _compact(np.array(ids, np.int64)), lengths


def _chunks(samples) -> Iterable:
    if isinstance(samples, np.ndarray):
        if samples.ndim != 2 or not np.issubdtype(samples.dtype, np.integer):
            raise ValueError(f"an array of samples must be 2-D of integer tokens, got "
                             f"{samples.dtype} with shape {samples.shape}")
        for start in range(0, len(samples), _SAMPLES_PER_CHUNK):
            yield samples[start:start + _SAMPLES_PER_CHUNK]
        return
    iterator = iter(samples)
    while chunk := list(islice(iterator, _SAMPLES_PER_CHUNK)):
        yield chunk


def _window_keys(ids: np.ndarray, lengths: np.ndarray, n: int, bits: int) -> np.ndarray:
    """The keys of all length-n windows of the samples laid end to end in ``ids``."""
    if len(lengths) and lengths.min() == lengths.max():  # equal lengths: a matrix, sliced
        columns = int(lengths[0]) - n + 1
        if columns < 1:
            return _pack(np.zeros((0, n), np.int64), bits)
        matrix = ids.reshape(len(lengths), -1)
        digits = [matrix[:, j:j + columns] for j in range(n)]
    else:
        per_sample = np.maximum(lengths - n + 1, 0)
        first = np.repeat(np.cumsum(lengths) - lengths - (np.cumsum(per_sample) - per_sample),
                          per_sample)
        starts = first + np.arange(int(per_sample.sum()))
        digits = [ids[starts + j] for j in range(n)]
    if n * bits <= 64:
        keys = digits[0].astype(np.uint64)
        for column in digits[1:]:
            keys <<= np.uint64(bits)
            keys |= column.astype(np.uint64)
        return keys.ravel()
    return _pack(np.stack([column.ravel() for column in digits], axis=1), bits)


def _unique_counts(keys: np.ndarray, n: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and their counts; a bincount (no sort) when the key space is small."""
    if n * bits <= _BINCOUNT_BITS:
        occurrences = np.bincount(keys.view(np.int64))
        present = np.flatnonzero(occurrences)
        return present.astype(np.uint64), occurrences[present].astype(np.int64)
    unique, counts = np.unique(keys, return_counts=True)
    return unique, counts.astype(np.int64)


def _pack(digits: np.ndarray, bits: int) -> np.ndarray:
    """Rows of n ids → keys whose sort order is the rows' lexicographic order."""
    n = digits.shape[1]
    if n * bits <= 64:
        keys = np.zeros(len(digits), np.uint64)
        for column in range(n):
            keys = (keys << np.uint64(bits)) | digits[:, column].astype(np.uint64)
        return keys
    return np.ascontiguousarray(digits.astype(">u4")).view(np.dtype((np.void, 4 * n))).ravel()


def _unpack(keys: np.ndarray, n: int, bits: int) -> np.ndarray:
    """Inverse of ``_pack``: (count, n) int64 ids."""
    if keys.dtype == np.uint64:
        shifts = np.uint64(bits) * np.arange(n - 1, -1, -1, dtype=np.uint64)
        return ((keys[:, None] >> shifts) & np.uint64((1 << bits) - 1)).astype(np.int64)
    return keys.view(">u4").reshape(-1, n).astype(np.int64)


def _merge_runs(runs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (keys, counts) runs → one sorted run with the counts of equal keys summed."""
    if len(runs) == 1:
        return runs[0]
    keys = np.concatenate([run[0] for run in runs])
    counts = np.concatenate([run[1] for run in runs])
    unique, inverse = np.unique(keys, return_inverse=True)
    summed = np.bincount(inverse.ravel(), weights=counts, minlength=len(unique))
    return unique, summed.astype(np.int64)  # float64 sums of counts are exact below 2**53


def _count(samples, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(sorted unique keys, their counts, bits per id) of all n-grams of ``samples``."""
    encoded = [_encode_chunk(chunk) for chunk in _chunks(samples)]
    widest = max((int(ids.max()) for ids, _ in encoded if ids.size), default=0)
    bits = max(1, widest.bit_length())
    merged: list[tuple[np.ndarray, np.ndarray]] = []
    pending: list[tuple[np.ndarray, np.ndarray]] = []
    for ids, lengths in encoded:
        per_sample = np.maximum(lengths - n + 1, 0)
        sample_offsets = np.concatenate([[0], np.cumsum(lengths)])
        window_ends = np.cumsum(per_sample)
        first = 0
        while first < len(lengths):  # slices of samples with at most _WINDOWS_PER_CHUNK windows
            done = window_ends[first - 1] if first else 0
            last = max(first + 1, int(np.searchsorted(window_ends, done + _WINDOWS_PER_CHUNK, "right")))
            part = ids[sample_offsets[first]:sample_offsets[last]]
            keys = _window_keys(part, lengths[first:last], n, bits)
            pending.append(_unique_counts(keys, n, bits))
            first = last
            # Merge once the pending runs outgrow the merged result: each key is re-sorted
            # O(log(total)) times, and memory stays within a small multiple of the result.
            if sum(len(run[0]) for run in pending) >= sum(len(run[0]) for run in merged):
                merged = [_merge_runs(merged + pending)]
                pending = []
    runs = merged + pending
    if not runs:
        return _pack(np.zeros((0, n), np.int64), bits), np.zeros(0, np.int64), bits
    keys, counts = _merge_runs(runs)
    return keys, counts, bits


class NgramLanguageModel:
    """The n-gram distribution of a set of samples.

    Args:
        n: the n-gram length (≥ 1).
        samples: a sequence (or iterable) of samples, each a sequence of tokens: a string (its
            characters), a tuple of tokens, or one row of a 2-D integer array (integer tokens,
            e.g. character ids of shape (num_lines, line_length)). With ``tokenize=True``, strings
            split into lower-cased words.
        tokenize: apply ``tokenize_string`` to each sample first.

    Raises:
        ValueError: ``n < 1``, or an array that is not 2-D of integers.
    """

    def __init__(self, n: int, samples, tokenize: bool = False):
        if n < 1:
            raise ValueError(f"n must be ≥ 1, got {n}")
        if tokenize:
            samples = [tokenize_string(sample) for sample in samples]
        self._n = n
        self._keys, self._counts, self._bits = _count(samples, n)
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

    @property
    def nbytes(self) -> int:
        """Memory held by the model's table of distinct n-grams and their counts."""
        return self._keys.nbytes + self._counts.nbytes

    def _counts_of_keys(self, keys: np.ndarray) -> np.ndarray:
        """This model's counts of ``keys`` packed in this model's layout (0 where unseen)."""
        if len(self._keys) == 0 or len(keys) == 0:
            return np.zeros(len(keys), np.int64)
        index = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return np.where(self._keys[index] == keys, self._counts[index], 0)

    def _counts_of_ngrams_of(self, other: "NgramLanguageModel") -> np.ndarray:
        """This model's counts of each of ``other``'s distinct n-grams, in ``other``'s order."""
        if other._bits == self._bits:
            return self._counts_of_keys(other._keys)
        digits = _unpack(other._keys, other._n, other._bits)
        representable = np.all(digits < (1 << self._bits), axis=1)  # else: an id self never saw
        counts = np.zeros(len(digits), np.int64)
        counts[representable] = self._counts_of_keys(_pack(digits[representable], self._bits))
        return counts

    def _shared(self, p: "NgramLanguageModel") -> tuple[np.ndarray, np.ndarray]:
        """Counts in (p, self) of the n-grams both have, found from the smaller model's side."""
        if len(self) <= len(p):
            counts_in_p = p._counts_of_ngrams_of(self)
            shared = counts_in_p > 0
            return counts_in_p[shared], self._counts[shared]
        counts_in_self = self._counts_of_ngrams_of(p)
        shared = counts_in_self > 0
        return p._counts[shared], counts_in_self[shared]

    def _check_comparable(self, other: "NgramLanguageModel") -> None:
        if other._n != self._n:
            raise ValueError(f"cannot compare {self._n}-gram and {other._n}-gram models")
        if self._total == 0 or other._total == 0:
            raise ValueError("a model has no n-grams (all samples shorter than n)")

    def log_likelihood(self, ngram: Sequence) -> float:
        """log P(ngram), −inf for an n-gram never seen."""
        if len(ngram) != self._n:
            raise ValueError(f"expected an n-gram of length {self._n}, got {len(ngram)}")
        ids = [_VOCABULARY.get(token) for token in ngram]
        if self._total == 0 or any(i is None or i >= (1 << self._bits) for i in ids):
            return -np.inf
        count = self._counts_of_keys(_pack(np.array([ids], np.int64), self._bits))[0]
        return float(np.log(count) - np.log(self._total)) if count else -np.inf

    def kl_to(self, p: "NgramLanguageModel") -> float:
        """Mean over p's n-grams (with multiplicity) of log p − log self: KL(p ‖ self), in nats."""
        self._check_comparable(p)
        counts_in_self = self._counts_of_ngrams_of(p)
        with np.errstate(divide="ignore"):
            ratios = (np.log(p._counts) - np.log(p._total)
                      - (np.log(counts_in_self) - np.log(self._total)))
        return float(np.sum(p._counts * ratios) / p._total)

    def cosine_sim_with(self, p: "NgramLanguageModel") -> float:
        """Cosine similarity of the two probability vectors."""
        self._check_comparable(p)
        p_shared, q_shared = self._shared(p)
        dot = np.dot(p_shared / p._total, q_shared / self._total)
        p_norm = np.sqrt(np.sum((p._counts / p._total) ** 2))
        q_norm = np.sqrt(np.sum((self._counts / self._total) ** 2))
        return float(dot / (p_norm * q_norm))

    def precision_wrt(self, p: "NgramLanguageModel") -> float:
        """The fraction of this model's n-grams (with multiplicity) that p has seen."""
        self._check_comparable(p)
        _, counts_here = self._shared(p)
        return float(np.sum(counts_here) / self._total)

    def recall_wrt(self, p: "NgramLanguageModel") -> float:
        """``p.precision_wrt(self)``."""
        return p.precision_wrt(self)

    def js_with(self, p: "NgramLanguageModel") -> float:
        """Jensen-Shannon divergence between p and this model, in bits, in [0, 1]."""
        self._check_comparable(p)
        p_shared, q_shared = self._shared(p)
        log_p = np.log(p_shared) - np.log(p._total)
        log_q = np.log(q_shared) - np.log(self._total)
        log_m = np.logaddexp(log_p - _LN2, log_q - _LN2)
        unshared_p = (p._total - int(p_shared.sum())) / p._total
        unshared_q = (self._total - int(q_shared.sum())) / self._total
        kl_p_m = unshared_p * _LN2 + np.sum(np.exp(log_p) * (log_p - log_m))
        kl_q_m = unshared_q * _LN2 + np.sum(np.exp(log_q) * (log_q - log_m))
        return float(0.5 * (kl_p_m + kl_q_m) / _LN2)
