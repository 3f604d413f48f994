"""N-gram models and their JS divergence: closed forms, properties, and a direct dict computation."""

import collections
import math

import numpy as np
import pytest

from ttur_tf.metrics import ngram
from ttur_tf.metrics.ngram import NgramLanguageModel


def dict_distribution(n, samples):
    counts = collections.Counter(
        tuple(sample[i:i + n]) for sample in samples for i in range(len(sample) - n + 1))
    total = sum(counts.values())
    return {ngram: count / total for ngram, count in counts.items()}


def dict_js_bits(n, first, second):
    """JS(P, Q) in bits, straight from its definition over the union of the supports."""
    p, q = dict_distribution(n, first), dict_distribution(n, second)
    divergence = 0.0
    for ngram in set(p) | set(q):
        pi, qi = p.get(ngram, 0.0), q.get(ngram, 0.0)
        mi = (pi + qi) / 2
        divergence += 0.5 * (pi * math.log2(pi / mi) if pi else 0.0)
        divergence += 0.5 * (qi * math.log2(qi / mi) if qi else 0.0)
    return divergence


def random_corpus(rng, count, alphabet="abcde`", length=12):
    return ["".join(rng.choice(list(alphabet), length)) for _ in range(count)]


def test_identical_samples_have_divergence_zero():
    lines = ["the cat sat", "on the mat"]
    assert NgramLanguageModel(2, lines).js_with(NgramLanguageModel(2, list(lines))) == pytest.approx(0, abs=1e-12)


def test_disjoint_supports_have_divergence_one_bit():
    assert NgramLanguageModel(1, ["aaa"]).js_with(NgramLanguageModel(1, ["bbb"])) == pytest.approx(1.0)


def test_a_small_case_by_hand():
    # P = {a: 1}, Q = {a: 1/2, b: 1/2}, M = {a: 3/4, b: 1/4}
    expected = 0.5 * math.log2(1 / 0.75) + 0.5 * (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(2))
    assert NgramLanguageModel(1, ["aa"]).js_with(NgramLanguageModel(1, ["ab"])) == pytest.approx(expected)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_agrees_with_a_direct_dict_computation_and_is_symmetric(n):
    rng = np.random.default_rng(n)
    real, generated = random_corpus(rng, 300), random_corpus(rng, 64, alphabet="abcxyz`")
    p, q = NgramLanguageModel(n, real), NgramLanguageModel(n, generated)
    expected = dict_js_bits(n, real, generated)
    assert q.js_with(p) == pytest.approx(expected, abs=1e-9)
    assert p.js_with(q) == pytest.approx(expected, abs=1e-9)
    assert 0.0 <= expected <= 1.0


def test_log_likelihood_counts_and_unseen_ngrams():
    model = NgramLanguageModel(2, ["abab"])  # ab, ba, ab
    assert model.log_likelihood("ab") == pytest.approx(math.log(2 / 3))
    assert model.log_likelihood(("b", "a")) == pytest.approx(math.log(1 / 3))
    assert model.log_likelihood("zz") == -math.inf


def test_precision_recall_cosine_and_kl_keep_the_original_meanings():
    p, q = NgramLanguageModel(1, ["aab"]), NgramLanguageModel(1, ["abc"])
    assert q.precision_wrt(p) == pytest.approx(2 / 3)  # a, b of q's a, b, c are in p
    assert q.recall_wrt(p) == pytest.approx(p.precision_wrt(q)) == pytest.approx(1.0)
    cosine = (2 / 3 * 1 / 3 + 1 / 3 * 1 / 3) / (math.sqrt(5 / 9) * math.sqrt(3 / 9))
    assert q.cosine_sim_with(p) == pytest.approx(cosine)
    kl = 2 / 3 * math.log((2 / 3) / (1 / 3)) + 1 / 3 * math.log((1 / 3) / (1 / 3))
    assert q.kl_to(p) == pytest.approx(kl)
    assert p.kl_to(q) == math.inf  # q has c, p never saw it


def test_word_tokens():
    model = NgramLanguageModel(1, ["The cat", "the dog"], tokenize=True)
    assert model.log_likelihood(("the",)) == pytest.approx(math.log(0.5))


def test_models_of_different_n_or_without_ngrams_are_refused():
    with pytest.raises(ValueError, match="1-gram and 2-gram"):
        NgramLanguageModel(1, ["ab"]).js_with(NgramLanguageModel(2, ["ab"]))
    with pytest.raises(ValueError, match="no n-grams"):
        NgramLanguageModel(3, ["ab"]).js_with(NgramLanguageModel(3, ["abc"]))


def original_style_js_bits(n, first, second):
    """JS the way the original helper computes it: over each model's own support, with
    log-likelihood −inf for n-grams the other model never saw, divided by ln 2."""
    p, q = dict_distribution(n, first), dict_distribution(n, second)

    def log(distribution, ngram):
        return math.log(distribution[ngram]) if ngram in distribution else -math.inf

    def kl_to_mixture(own, other):
        total = 0.0
        for ngram, probability in own.items():
            log_own, log_other = log(own, ngram), log(other, ngram)
            log_m = np.logaddexp(log_own - math.log(2), log_other - math.log(2))
            total += probability * (log_own - log_m)
        return total

    return 0.5 * (kl_to_mixture(q, p) + kl_to_mixture(p, q)) / math.log(2)


@pytest.mark.parametrize("n", [1, 3, 6])
def test_chunked_counting_with_merges_gives_the_same_model(monkeypatch, n):
    rng = np.random.default_rng(10 + n)
    lines = random_corpus(rng, 200, length=9) + ["ab", "", "abcdefghij"]
    whole = NgramLanguageModel(n, lines)
    monkeypatch.setattr(ngram, "_SAMPLES_PER_CHUNK", 7)
    monkeypatch.setattr(ngram, "_WINDOWS_PER_CHUNK", 11)
    chunked = NgramLanguageModel(n, iter(lines))
    assert len(chunked) == len(whole) and chunked.total_ngrams == whole.total_ngrams
    assert chunked.js_with(whole) == pytest.approx(0.0, abs=1e-12)
    generated = random_corpus(rng, 64, alphabet="abcxyz`")
    assert NgramLanguageModel(n, generated).js_with(chunked) == pytest.approx(
        original_style_js_bits(n, lines, generated), abs=1e-9)


def test_integer_rows_strings_and_tuples_are_the_same_samples():
    lines = ["abcab", "bcabc"]
    as_ids = np.array([[ord(c) for c in line] for line in lines], np.int32)
    from_strings = NgramLanguageModel(2, lines)
    from_tuples = NgramLanguageModel(2, [tuple(line) for line in lines])
    from_ids = NgramLanguageModel(2, as_ids)
    assert from_tuples.js_with(from_strings) == pytest.approx(0.0, abs=1e-12)
    assert len(from_ids) == len(from_strings) and from_ids.total_ngrams == 8
    # integer tokens are their own tokens, not characters
    assert from_ids.js_with(from_strings) == pytest.approx(1.0)
    assert from_ids.js_with(NgramLanguageModel(2, as_ids[::-1].copy())) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="2-D of integer tokens"):
        NgramLanguageModel(2, np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("n", [2, 6])
def test_wide_vocabularies_and_models_of_different_id_widths(n):
    """Thousands of distinct tokens make n·bits exceed 64 for n = 6 (byte-string keys); a model of
    few tokens (narrow ids) must still compare exactly with one of many (wide ids)."""
    rng = np.random.default_rng(n)
    shared_tokens = [1_000_000, 1_000_007, 1_000_014]  # also in the wide corpus
    narrow = rng.choice(shared_tokens + [-1, -2], size=(40, 10))
    narrow_model = NgramLanguageModel(n, narrow)  # first: its tokens get the smallest ids
    wide = rng.integers(0, 5000, size=(300, 10)) * 7 + 1_000_000
    wide[:5] = narrow[:5]
    wide_model = NgramLanguageModel(n, wide)
    assert narrow_model._bits < wide_model._bits  # the re-packing path is exercised
    real = [tuple(row) for row in wide.tolist()]
    generated = [tuple(row) for row in narrow.tolist()]
    expected = original_style_js_bits(n, real, generated)
    assert 0.0 < expected < 1.0
    assert narrow_model.js_with(wide_model) == pytest.approx(expected, abs=1e-9)
    assert wide_model.js_with(narrow_model) == pytest.approx(expected, abs=1e-9)
    assert narrow_model.precision_wrt(wide_model) == pytest.approx(
        sum(1 for s in generated for i in range(len(s) - n + 1)
            if s[i:i + n] in dict_distribution(n, real)) / narrow_model.total_ngrams)
    assert wide_model.log_likelihood(real[0][:n]) > -math.inf
