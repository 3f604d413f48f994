"""A generator's samples through the Inception graph, split over every replica and worker.

For FID (and the other image metrics) as bioinf-jku/TTUR ``WGAN_GP/gan_64x64_FID.py``:
``num_samples`` images (the paper: 50,000) are generated ``sample_batch_size`` at a time (1000), turned into uint8 as the original does, fed
to the Inception graph ``inception_batch_size`` at a time (200), and their statistics compared
with the real data's.

Under a ``tf.distribute`` strategy with R replicas, each call's noise (drawn on the host from
``rng``, the same numbers as on one device) is cut into R consecutive row blocks; replica r
generates its block on its device and computes its features there. The host adds the rows to
float64 moments, and several workers merge their moments exactly (``moments_over_workers``):
the statistics are those of one device up to float64 rounding, whatever the replica count.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ttur_tf.fid.moments import RunningMoments
from ttur_tf.metrics.image_metrics import FeatureCollector

__all__ = ["generated_features", "generated_moments", "moments_over_workers",
           "to_uint8_like_the_original"]


def to_uint8_like_the_original(images) -> tf.Tensor:
    """Images in [-1, 1] → uint8 0..255 as the original: ``((x + 1) * 127.5).astype('uint8')``.

    Args:
        images: float (B, H, W, C), NumPy or tensor.

    Returns:
        uint8 tensor (B, H, W, C). The cast truncates (0.999 → 0); values are clipped to
        [0, 255] first, which changes nothing for tanh outputs and keeps out-of-range inputs
        from wrapping around.

    Raises:
        ValueError: NaN or infinite values (a diverged generator; the cast would hide them).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    bad = int(tf.size(images)) - int(tf.math.count_nonzero(tf.math.is_finite(images)))
    if bad:
        raise ValueError(
            f"the generator produced {bad} NaN or infinite pixel values: it has diverged (lower "
            "the learning rates and resume from the last good checkpoint)"
        )
    return tf.cast(tf.clip_by_value((images + 1.0) * 127.5, 0.0, 255.0), tf.uint8)


def _replica_features(gan, features, inception_batch_size: int, with_logits: bool,
                      average: bool):
    """The function each replica runs on its block of noise (eagerly, one thread per replica:
    ``features`` may be any callable, e.g. NumPy-based): its pool_3 features and, for the
    Inception Score, class logits (an empty (0, 0) tensor otherwise)."""

    def features_of(images):
        if with_logits:
            return features.features_and_logits(images)
        return features(images), tf.zeros([0, 0])

    def run(inputs):
        if tf.nest.flatten(inputs)[0].shape[0] == 0:  # a last call with fewer rows than replicas
            return tf.zeros([0, 0]), tf.zeros([0, 0])
        images = to_uint8_like_the_original(gan.generate_tensor(inputs, average))
        parts = [features_of(images[start:start + inception_batch_size])
                 for start in range(0, int(images.shape[0]), inception_batch_size)]
        return tuple(tf.concat([tf.convert_to_tensor(part[index]) for part in parts], axis=0)
                     for index in (0, 1))

    return run


def generated_features(gan, features, num_samples: int, sample_batch_size: int,
                       inception_batch_size: int, rng: np.random.Generator,
                       strategy: tf.distribute.Strategy | None = None,
                       metrics=("fid",), average: bool = True) -> FeatureCollector:
    """What ``metrics`` need of ``num_samples`` generated images, computed over all replicas.

    Args:
        gan: a ``ttur_tf.gan.GAN`` whose generator outputs images in [-1, 1].
        features: maps uint8 batches (b, H, W, 3) to features (b, d): ``InceptionFeatures``
            (needed for "is", which reads its class logits).
        num_samples: generated images (the paper: 50,000).
        sample_batch_size: images generated per call, over all replicas together (the
            original: 1000).
        inception_batch_size: at most this many images per call of ``features`` on a replica.
        rng: the noise source, separate from the training noise; every worker must pass one
            seeded alike.
        strategy: where to compute (default: the current strategy, one device outside any).
        metrics: names from ``ttur_tf.metrics.image_metrics.METRICS``; with several workers,
            only "fid" (moments merge across hosts, features would have to be gathered).
        average: sample the generator's average if the GAN keeps one (else the generator).

    Returns:
        The collector: the moments of every sample's features, the same on every worker, and
        the features and logits the metrics keep.

    Raises:
        ValueError: bad sizes, or a generator that produced NaN or infinite values.
    """
    if num_samples < 1 or sample_batch_size < 1 or inception_batch_size < 1:
        raise ValueError("num_samples, sample_batch_size and inception_batch_size must be ≥ 1, "
                         f"got {num_samples}, {sample_batch_size}, {inception_batch_size}")
    strategy = strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    if min(num_samples, sample_batch_size) < replicas:
        raise ValueError(f"num_samples ({num_samples}) and sample_batch_size "
                         f"({sample_batch_size}) must be at least the number of replicas "
                         f"({replicas}): every replica generates a share of each call")
    collector = FeatureCollector(metrics)
    if _workers(strategy) > 1 and collector.metrics != ("fid",):
        raise ValueError("with several workers only fid is computed (kid, is and pr need every "
                         "sample's features on one host)")
    replica_fn = _replica_features(gan, features, inception_batch_size, collector.needs_logits,
                                   average)
    for start in range(0, num_samples, sample_batch_size):
        inputs = gan.numpy_inputs(rng, min(sample_batch_size, num_samples - start))
        block = -(-len(tf.nest.flatten(inputs)[0]) // replicas)  # rows per replica; the last
        # replica's may be fewer, none at all only in a last call of fewer rows than replicas

        def replica_inputs(context, inputs=inputs, block=block):
            first = context.replica_id_in_sync_group * block
            return tf.nest.map_structure(lambda part: tf.constant(part[first:first + block]),
                                         inputs)

        per_replica = strategy.experimental_distribute_values_from_function(replica_inputs)
        rows, logits = strategy.run(replica_fn, args=(per_replica,))
        for replica_rows, replica_logits in zip(strategy.experimental_local_results(rows),
                                                strategy.experimental_local_results(logits)):
            if replica_rows.shape[0]:
                collector.add(np.asarray(replica_rows),
                              np.asarray(replica_logits) if collector.needs_logits else None)
    collector.moments = moments_over_workers(strategy, collector.moments)
    return collector


def generated_moments(gan, features, num_samples: int, sample_batch_size: int,
                      inception_batch_size: int, rng: np.random.Generator,
                      strategy: tf.distribute.Strategy | None = None) -> RunningMoments:
    """The float64 moments of the features of generated images, merged over every worker
    (arguments as ``generated_features``)."""
    return generated_features(gan, features, num_samples, sample_batch_size,
                              inception_batch_size, rng, strategy).moments


def _workers(strategy) -> int:
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1
    return strategy.num_replicas_in_sync // len(strategy.extended.worker_devices)


def moments_over_workers(strategy, moments: RunningMoments) -> RunningMoments:
    """The merge of every worker's moments (``moments`` itself on a single worker).

    Each worker's (count, mean, scatter) is gathered in float64 by one of its replicas and the
    parts are merged pairwise in worker order, so every worker ends with the same moments.
    """
    if _workers(strategy) == 1:
        return moments
    dim = moments.dim
    count, mean, scatter = moments.moments()
    packed = np.concatenate([[count], mean, scatter.ravel()])[np.newaxis]
    local_replicas = len(strategy.extended.worker_devices)

    def own_part(context):  # the worker's first replica carries its moments, the others nothing
        first = context.replica_id_in_sync_group % local_replicas == 0
        return tf.constant(packed if first else np.zeros_like(packed))

    parts = strategy.experimental_distribute_values_from_function(own_part)
    every_part = strategy.gather(parts, axis=0).numpy()
    merged = RunningMoments(dim)
    for part in every_part:
        if part[0] > 0:
            merged.merge(RunningMoments.from_moments(
                int(part[0]), part[1:1 + dim], part[1 + dim:].reshape(dim, dim)))
    return merged
