"""N-gram models and their JS divergence: closed forms, properties, and a direct dict computation."""

import collections
import math

import numpy as np
import pytest

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
