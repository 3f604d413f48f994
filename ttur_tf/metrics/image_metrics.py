"""Every image metric from one pass: FID, KID, Inception Score, precision/recall.

The way is one-directional: image batches (``ttur_tf.data.image_sources``, or a generator's
samples) → the Inception graph's features per batch (pool_3, and class logits when the Inception
Score is asked for) → sibling consumers that each keep what their metric needs:

* ``fid``: float64 moments (``RunningMoments``), O(d²) memory whatever N;
* ``kid`` and ``pr``: the pool_3 rows themselves, (N, 2048) float32 (400 MB at 50,000);
* ``is``: the class logits, (N, 1008) float32.

``collect_features`` runs the pass; ``image_scores`` turns what it kept (as ``Statistics`` with
features, and logits) and a reference set's statistics into numbers: ``fid``, ``kid``,
``kid_std``, ``inception_score``, ``inception_score_std``, ``precision``, ``recall``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import keras
import numpy as np

from ttur_tf.fid.frechet import frechet_distance
from ttur_tf.fid.moments import RunningMoments
from ttur_tf.fid.stats import Statistics, warn_about_sample_count
from ttur_tf.metrics.inception_score import inception_score
from ttur_tf.metrics.kid import kernel_inception_distance
from ttur_tf.metrics.precision_recall import precision_recall

__all__ = ["METRICS", "FeatureCollector", "collect_features", "image_scores", "parse_metrics"]

METRICS = ("fid", "kid", "is", "pr")
_NEEDS_FEATURES = {"kid", "pr"}


def parse_metrics(metrics: str | Sequence[str]) -> tuple[str, ...]:
    """("fid", "kid", …) from "fid,kid" or a sequence, in METRICS order.

    Raises:
        ValueError: an unknown or empty choice.
    """
    names = [name.strip() for name in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    names = [name for name in names if name]
    unknown = sorted(set(names) - set(METRICS))
    if unknown or not names:
        raise ValueError(f"metrics must be a comma-separated choice of {','.join(METRICS)}; got "
                         f"{','.join(names) or 'nothing'}")
    return tuple(name for name in METRICS if name in names)


class FeatureCollector:
    """Consumes feature batches and keeps what the requested metrics need.

    Args:
        metrics: names from ``METRICS``.
    """

    def __init__(self, metrics: Sequence[str]):
        self.metrics = parse_metrics(metrics)
        self.moments: RunningMoments | None = None
        self._features: list[np.ndarray] = []
        self._logits: list[np.ndarray] = []

    @property
    def needs_logits(self) -> bool:
        return "is" in self.metrics

    def add(self, features, logits=None) -> None:
        """Adds a batch: pool_3 features (b, d) and, for the Inception Score, logits (b, classes)."""
        features = np.asarray(features)
        if self.moments is None:
            self.moments = RunningMoments(features.shape[1])
        self.moments.update(features)
        if _NEEDS_FEATURES & set(self.metrics):
            self._features.append(features.astype(np.float32))
        if self.needs_logits:
            if logits is None:
                raise ValueError("the Inception Score needs the class logits of every batch")
            self._logits.append(np.asarray(logits, np.float32))

    @property
    def count(self) -> int:
        return 0 if self.moments is None else self.moments.count

    @property
    def features(self) -> np.ndarray | None:
        """(N, d) float32 features, if a metric needs them."""
        return np.concatenate(self._features) if self._features else None

    @property
    def logits(self) -> np.ndarray | None:
        """(N, classes) float32 logits, if the Inception Score is asked for."""
        return np.concatenate(self._logits) if self._logits else None

    def statistics(self, image_size=None, graph_sha256: str = "") -> Statistics:
        """The set's statistics (with its features when kept).

        Raises:
            ValueError: fewer than 2 images.
        """
        if self.count < 2:
            raise ValueError(f"the metrics need at least 2 images, got {self.count}")
        warn_about_sample_count(self.count, self.moments.dim)
        return Statistics(self.moments.mean, self.moments.covariance, self.count, image_size,
                          graph_sha256, self.features)


def _features_of(feature_fn, batch, with_logits: bool):
    if not with_logits:
        return feature_fn(batch), None
    if not hasattr(feature_fn, "features_and_logits"):
        raise ValueError("the Inception Score needs class logits: use InceptionFeatures (the "
                         "2015 graph), not a plain feature function")
    return feature_fn.features_and_logits(batch)


def collect_features(
    batches: Iterable[np.ndarray],
    feature_fn,
    metrics: Sequence[str],
    progress_total: int | None = None,
) -> tuple[FeatureCollector, tuple[int, int] | None]:
    """One pass over image batches (B, H, W, C), pixel values 0..255.

    Args:
        batches: the images.
        feature_fn: ``InceptionFeatures`` (needed for ``is``: its ``features_and_logits``), or
            any map of a batch to features (B, d) for the others.
        metrics: names from ``METRICS``.
        progress_total: show a progress bar over this many images.

    Returns:
        The collector (what each metric needs) and the images' size (H, W) if they shared one.
    """
    collector = FeatureCollector(metrics)
    progress = keras.utils.Progbar(progress_total, unit_name="image") if progress_total else None
    sizes = set()
    for batch in batches:
        collector.add(*_features_of(feature_fn, batch, collector.needs_logits))
        sizes.add(tuple(batch.shape[1:3]))
        if progress is not None:
            progress.add(batch.shape[0])
    return collector, next(iter(sizes)) if len(sizes) == 1 else None


def image_scores(
    metrics: Sequence[str],
    generated: Statistics,
    reference: Statistics | None,
    logits: np.ndarray | None = None,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """The requested metrics of a generated set against a reference set.

    Args:
        metrics: names from ``METRICS``.
        generated: the generated images' statistics (``FeatureCollector.statistics``), with
            ``features`` for kid and pr.
        reference: the real images' statistics, with ``features`` for kid and pr (``None`` is
            allowed when only ``is`` is asked for).
        logits: the generated images' class logits (N, classes), for ``is``.
        kid_subsets, kid_subset_size, seed: KID's subsets (the reference code: 100 of 1,000).

    Returns:
        {"fid", "kid", "kid_std", "inception_score", "inception_score_std", "precision",
        "recall"}: the ones the metrics give.

    Raises:
        ValueError: a set without what a metric needs (the message says how to get it).
    """
    metrics = parse_metrics(metrics)
    if reference is None and set(metrics) - {"is"}:
        raise ValueError(f"{','.join(metrics)} compare with reference images: give them")
    if _NEEDS_FEATURES & set(metrics):
        for side in (generated, reference):
            if side.features is None:
                raise ValueError(
                    "KID and precision/recall compare features, and these statistics hold only "
                    "mu and sigma: recompute them with features kept (precalc_stats.py "
                    "--features) or pass the images")
    scores = {}
    if "fid" in metrics:
        scores["fid"] = frechet_distance(generated.mu, generated.sigma, reference.mu,
                                         reference.sigma)
    if "kid" in metrics:
        kid = kernel_inception_distance(generated.features, reference.features, kid_subsets,
                                        kid_subset_size, seed)
        scores.update(kid=kid.mean, kid_std=kid.std)
    if "is" in metrics:
        if logits is None:
            raise ValueError("the Inception Score needs the generated images' class logits")
        score = inception_score(logits)
        scores.update(inception_score=score.mean, inception_score_std=score.std)
    if "pr" in metrics:
        result = precision_recall(reference.features, generated.features)
        scores.update(precision=result.precision, recall=result.recall)
    return scores
