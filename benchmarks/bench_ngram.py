"""Speed, agreement and memory of `NgramLanguageModel` against a dict-of-tuples model, same run.

    python benchmarks/bench_ngram.py [--lines=100000] [--samples=640] [--memory_lines=1000000]

The dict model below is the straightforward implementation the original helpers use (a dict of
n-gram tuples; JSD summed over each model's n-grams with one log-likelihood lookup each). Data:
32-character windows of the built-in corpus at random offsets with 2% of characters replaced at
random (so that long n-grams are not all repeats), as training lines; generated lines are windows
with 20% replaced. Both implementations build n = 1…6 models of the training lines and evaluate
the JSD of the generated lines against them, as the language GAN does at each evaluation.
Targets: build ≥ 10× faster, evaluation ≥ 20× faster, identical JSD values (≤ 1e-9), and the peak
memory of the numpy build for 1M lines (tracemalloc, which sees numpy's buffers).
"""

import collections
import time
import tracemalloc

import numpy as np
from absl import app, flags

from ttur_tf.data.text import builtin_corpus_lines
from ttur_tf.metrics.ngram import NgramLanguageModel

flags.DEFINE_integer("lines", 100_000, "Training lines for the speed comparison.")
flags.DEFINE_integer("samples", 640, "Generated lines per evaluation (the original: 10 × 64).")
flags.DEFINE_integer("memory_lines", 1_000_000, "Training lines for the memory measurement.")
flags.DEFINE_integer("max_n", 6, "n-grams for n = 1…max_n.")
FLAGS = flags.FLAGS

SEQ_LEN = 32


class DictNgramModel:
    """The reference: n-gram tuples counted in a dict; the original helpers' definitions."""

    def __init__(self, n, samples):
        self.n = n
        self.counts = collections.defaultdict(int)
        self.total = 0
        for sample in samples:
            for i in range(len(sample) - n + 1):
                self.counts[sample[i:i + n]] += 1
                self.total += 1

    def log_likelihood(self, ngram):
        if ngram not in self.counts:
            return -np.inf
        return np.log(self.counts[ngram]) - np.log(self.total)

    def js_with(self, p):
        log_p = np.array([p.log_likelihood(ngram) for ngram in p.counts])
        log_q = np.array([self.log_likelihood(ngram) for ngram in p.counts])
        log_m = np.logaddexp(log_p - np.log(2), log_q - np.log(2))
        kl_p_m = np.sum(np.exp(log_p) * (log_p - log_m))
        log_p = np.array([p.log_likelihood(ngram) for ngram in self.counts])
        log_q = np.array([self.log_likelihood(ngram) for ngram in self.counts])
        log_m = np.logaddexp(log_p - np.log(2), log_q - np.log(2))
        kl_q_m = np.sum(np.exp(log_q) * (log_q - log_m))
        return 0.5 * (kl_p_m + kl_q_m) / np.log(2)


def text_windows(rng, count, replaced_fraction):
    """``count`` strings of SEQ_LEN characters from the built-in corpus, some characters replaced."""
    text = np.array(list(" ".join(builtin_corpus_lines())))
    offsets = rng.integers(0, len(text) - SEQ_LEN, count)
    windows = text[offsets[:, None] + np.arange(SEQ_LEN)]
    replace = rng.random(windows.shape) < replaced_fraction
    windows[replace] = rng.choice(np.unique(text), int(replace.sum()))
    return ["".join(row) for row in windows]


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    lines = text_windows(rng, FLAGS.lines, 0.02)
    generated = text_windows(rng, FLAGS.samples, 0.20)
    orders = range(1, FLAGS.max_n + 1)
    as_tuples = [tuple(line) for line in lines]
    generated_tuples = [tuple(line) for line in generated]

    dict_models, dict_build = timed(lambda: [DictNgramModel(n, as_tuples) for n in orders])
    numpy_models, numpy_build = timed(lambda: [NgramLanguageModel(n, lines) for n in orders])
    dict_js, dict_eval = timed(lambda: [DictNgramModel(m.n, generated_tuples).js_with(m)
                                        for m in dict_models])
    numpy_js, numpy_eval = timed(lambda: [NgramLanguageModel(m.n, generated).js_with(m)
                                          for m in numpy_models])

    print(f"{FLAGS.lines} training lines of {SEQ_LEN} characters, {FLAGS.samples} generated lines, "
          f"n = 1..{FLAGS.max_n}")
    print(f"build:    dict {dict_build:.2f} s, numpy {numpy_build:.2f} s, speed-up "
          f"{dict_build / numpy_build:.1f}x (target >= 10x)")
    print(f"evaluate: dict {dict_eval:.3f} s, numpy {numpy_eval:.3f} s, speed-up "
          f"{dict_eval / numpy_eval:.1f}x (target >= 20x)")
    for n, expected, value in zip(orders, dict_js, numpy_js):
        print(f"js{n}: dict {expected:.12f}  numpy {value:.12f}  |diff| {abs(value - expected):.1e}")
    worst = max(abs(value - expected) for expected, value in zip(dict_js, numpy_js))
    print(f"max |difference|: {worst:.1e} (target <= 1e-9)")

    del dict_models, numpy_models, as_tuples
    memory_lines = text_windows(rng, FLAGS.memory_lines, 0.02)
    tracemalloc.start()
    models, seconds = timed(lambda: [NgramLanguageModel(n, memory_lines) for n in orders])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kept = sum(model.nbytes for model in models)
    print(f"build n = 1..{FLAGS.max_n} for {FLAGS.memory_lines} lines: {seconds:.1f} s, peak "
          f"{peak / 2**20:.0f} MiB above the input lines, models keep {kept / 2**20:.0f} MiB "
          f"({sum(len(m) for m in models)} distinct n-grams)")


if __name__ == "__main__":
    app.run(main)
