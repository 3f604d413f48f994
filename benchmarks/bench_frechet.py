"""Speed and agreement of `frechet_distance` against the plain scipy `sqrtm` formula, same run.

    python benchmarks/bench_frechet.py [--dim=2048] [--samples=6000]

Statistics are full-rank covariances of correlated Gaussian features (samples > dim). Prints both
times, their ratio and the relative difference of the two FIDs. Targets: ≥ 5× faster, ≤ 1e-6.
"""

import time

import numpy as np
from absl import app, flags
from scipy import linalg

from ttur_tf.fid import frechet_distance

flags.DEFINE_integer("dim", 2048, "Feature dimension.")
flags.DEFINE_integer("samples", 6000, "Samples per statistics (> dim for full rank).")
flags.DEFINE_integer("repeats", 3, "Timed repetitions of the fast path (best is reported).")
FLAGS = flags.FLAGS


def statistics(rng, shift, scale):
    mixing = rng.normal(size=(FLAGS.dim, FLAGS.dim)) / np.sqrt(FLAGS.dim)
    features = scale * rng.normal(size=(FLAGS.samples, FLAGS.dim)) @ mixing + shift
    return features.mean(axis=0), np.cov(features, rowvar=False)


def plain_sqrtm_fid(mu1, sigma1, mu2, sigma2):
    covmean = np.real(linalg.sqrtm(sigma1 @ sigma2))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1 + sigma2 - 2 * covmean))


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    mu1, sigma1 = statistics(rng, 0.0, 1.0)
    mu2, sigma2 = statistics(rng, 0.1, 1.1)
    start = time.perf_counter()
    reference = plain_sqrtm_fid(mu1, sigma1, mu2, sigma2)
    sqrtm_seconds = time.perf_counter() - start
    eig_seconds = float("inf")
    for _ in range(FLAGS.repeats):
        start = time.perf_counter()
        value = frechet_distance(mu1, sigma1, mu2, sigma2)
        eig_seconds = min(eig_seconds, time.perf_counter() - start)
    print(f"dim {FLAGS.dim}, {FLAGS.samples} samples per side (full rank)")
    print(f"scipy sqrtm formula: {sqrtm_seconds:.2f} s, FID {reference:.10f}")
    print(f"frechet_distance:    {eig_seconds:.2f} s, FID {value:.10f}")
    print(f"speed-up: {sqrtm_seconds / eig_seconds:.1f}x (target >= 5x)")
    print(f"relative difference: {abs(value - reference) / abs(reference):.2e} (target <= 1e-6)")


if __name__ == "__main__":
    app.run(main)
