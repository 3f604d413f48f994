"""Inception Score (Salimans et al., NeurIPS 2016, "Improved Techniques for Training GANs").

IS = exp(E_x KL(p(y|x) ‖ p(y))), with p(y|x) the Inception graph's softmax over its classes and
p(y) its mean over the images. As the authors' code (openai/improved-gan
``inception_score.get_inception_score``) the images are cut into 10 consecutive splits, the
score is computed on each (p(y) from the split) and the mean and standard deviation over splits
are reported. The TTUR paper's FID-vs-IS study uses this score (and its distance transform).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special

__all__ = ["InceptionScore", "inception_score"]

DEFAULT_SPLITS = 10


@dataclasses.dataclass(frozen=True)
class InceptionScore:
    """The mean and standard deviation of the split scores, and the number of splits."""

    mean: float
    std: float
    splits: int


def inception_score(logits: np.ndarray, splits: int = DEFAULT_SPLITS) -> InceptionScore:
    """The Inception Score of images from the graph's class logits.

    Args:
        logits: (N, classes) pre-softmax outputs (the 2015 graph: 1008 classes), any float dtype;
            the softmax is taken in float64.
        splits: consecutive splits of the images (the reference: 10); N ≥ splits.

    Raises:
        ValueError: not a matrix, or fewer images than splits.
    """
    logits = np.asarray(logits, np.float64)
    if logits.ndim != 2:
        raise ValueError(f"expected logits (N, classes), got shape {logits.shape}")
    count = logits.shape[0]
    if splits < 1 or count < splits:
        raise ValueError(f"the Inception Score needs at least one image per split: {count} images "
                         f"for {splits} splits")
    probabilities = special.softmax(logits, axis=1)
    scores = []
    for index in range(splits):
        part = probabilities[index * count // splits:(index + 1) * count // splits]
        marginal = part.mean(axis=0, keepdims=True)
        kl = special.xlogy(part, part) - special.xlogy(part, marginal)  # 0·log 0 = 0
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return InceptionScore(float(np.mean(scores)), float(np.std(scores)), splits)
