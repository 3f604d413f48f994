"""A worker of a two-process MultiWorkerMirroredStrategy that computes generated-sample moments.

    TF_CONFIG=... python tests/fid_worker.py OUT.npz

Also the home of ``ElementwiseGenerator`` and ``color_features``, which test_sample_statistics.py
uses on one process: a generator whose image of each noise row depends on that row alone, by
elementwise ops, so that splitting the rows over replicas or workers must give exactly the
one-device features, and the merge is all that is compared.
"""

import sys

import numpy as np
import tensorflow as tf

NUM_SAMPLES, SAMPLE_BATCH, INCEPTION_BATCH = 37, 10, 3


class ElementwiseGenerator:
    """Noise rows (48,) → images (4, 4, 3) in [-1, 1] by tanh (row by row, batch-independent)."""

    noise_dim = 48

    def numpy_inputs(self, rng, batch_size):  # an unconditional generator: noise only
        return rng.standard_normal((batch_size, self.noise_dim)).astype(np.float32)

    def generate_tensor(self, noise, average=True):  # it keeps no average: the same either way
        return tf.reshape(tf.tanh(tf.convert_to_tensor(noise) * 2.0), [-1, 4, 4, 3])


def color_features(batch):
    """(B, H, W, 3) uint8 → (B, 6) float64: per-channel means and standard deviations."""
    batch = np.asarray(batch, dtype=np.float64)
    return np.concatenate([batch.mean(axis=(1, 2)), batch.std(axis=(1, 2))], axis=1)


def main(out):
    from ttur_tf.distribute import make_strategy
    from ttur_tf.sample_statistics import generated_moments

    strategy = make_strategy("multi_worker")
    moments = generated_moments(ElementwiseGenerator(), color_features, NUM_SAMPLES, SAMPLE_BATCH,
                                INCEPTION_BATCH, np.random.default_rng(7), strategy)
    count, mean, scatter = moments.moments()
    np.savez(out, count=count, mean=mean, scatter=scatter)


if __name__ == "__main__":
    main(sys.argv[1])
