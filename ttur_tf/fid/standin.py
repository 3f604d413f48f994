"""A small stand-in for the 2015 Inception graph, for tests, benchmarks and the offline demo.

The real ``classify_image_graph_def.pb`` cannot be downloaded everywhere (CI has no internet), so
this builds a frozen graph with the same node names and the same quirks, and fixed random weights:

    DecodeJpeg/contents → DecodeJpeg → Cast → ExpandDims (static shape [1, ?, ?, 3])
    → ResizeBilinear to 299×299 (legacy TF1 kernel: no align_corners, no half-pixel centres;
      the attribute is absent from the NodeDef, as in a 2015 graph)
    → Sub 128 → Mul 1/128 → conv → BatchNormWithGlobalNormalization (an op removed in GraphDef
      version 9; the GraphDef's producer version is below 9, as the original's) → ReLU → max pool
    → conv to 2048 channels → ReLU → pool_3 (AvgPool, [N, 1, 1, 2048])
    → pool_3/_reshape (Reshape hard-coded to [1, 2048]) → softmax/logits/MatMul (with
      softmax/weights, the matrix the Inception Score's reference code reads) → + softmax/biases
      = softmax/logits → softmax

Its features are NOT Inception features: FIDs computed with it are only good for checking code.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from ttur_tf.files import write_bytes_atomically

__all__ = ["STANDIN_PRODUCER_VERSION", "write_standin_graph"]

STANDIN_PRODUCER_VERSION = 5
_LEGACY_BATCH_NORM = "legacy_batchnorm"


def original_input() -> tf.Tensor:
    """The 2015 graph's input nodes in the current TF1 graph, up to the normalised image:
    DecodeJpeg/contents → DecodeJpeg → Cast → ExpandDims ([1, ?, ?, 3]) → ResizeBilinear (legacy:
    no align_corners, no half-pixel centres) to 299×299 → Sub 128 → Mul 1/128: float32
    [1, 299, 299, 3] in about [-1, 1]."""
    tf1 = tf.compat.v1
    contents = tf1.placeholder(tf.string, shape=[], name="DecodeJpeg/contents")
    image = tf.io.decode_jpeg(contents, channels=3, name="DecodeJpeg")
    x = tf.cast(image, tf.float32, name="Cast")
    x = tf.expand_dims(x, 0, name="ExpandDims")
    size = tf.constant([299, 299], name="ResizeBilinear/size")
    x = tf1.image.resize_bilinear(x, size, align_corners=False, name="ResizeBilinear")
    x = tf.subtract(x, tf.constant(128.0, name="Sub/y"), name="Sub")
    return tf.multiply(x, tf.constant(1.0 / 128.0, name="Mul/y"), name="Mul")


def original_head(features: tf.Tensor, rng: np.random.RandomState) -> None:
    """The 2015 graph's head on ``features`` [N, k, k, 2048]: pool_3 (AvgPool over the k×k
    window, [N, 1, 1, 2048]) → pool_3/_reshape (hard-coded to [1, 2048]) → softmax/logits/MatMul
    with softmax/weights (2048×1008) → + softmax/biases = softmax/logits → softmax. Random
    weights from ``rng``."""
    window = int(features.shape[1])
    pool3 = tf.nn.avg_pool2d(features, ksize=window, strides=1, padding="VALID", name="pool_3")
    flat = tf.reshape(pool3, [1, 2048], name="pool_3/_reshape")
    weights = tf.constant(rng.normal(0, 0.05, (2048, 1008)).astype(np.float32),
                          name="softmax/weights")
    biases = tf.constant(rng.normal(0, 0.05, 1008).astype(np.float32), name="softmax/biases")
    product = tf.matmul(flat, weights, name="softmax/logits/MatMul")
    logits = tf.add(product, biases, name="softmax/logits")
    tf.nn.softmax(logits, name="softmax")


def as_2015_graph_def(graph: tf.Graph) -> tf.compat.v1.GraphDef:
    """``graph`` serialised as the 2015 file is: ResizeBilinear without the half_pixel_centers
    attribute (the file predates it)."""
    graph_def = graph.as_graph_def()
    for node in graph_def.node:
        if node.name == "ResizeBilinear":
            del node.attr["half_pixel_centers"]
    return graph_def


def _build_graph_def(seed: int) -> tf.compat.v1.GraphDef:
    rng = np.random.RandomState(seed)

    def const(array, name):
        return tf.constant(array.astype(np.float32), name=name)

    graph = tf.Graph()
    with graph.as_default():
        x = original_input()
        w1 = const(rng.normal(0, 0.2, (3, 3, 3, 32)), "conv/conv2d_params")
        x = tf.nn.conv2d(x, w1, strides=[1, 4, 4, 1], padding="VALID", name="conv/Conv2D")
        for part, values in {
            "mean": rng.normal(0, 0.1, 32),
            "variance": rng.uniform(0.5, 1.5, 32),
            "beta": rng.normal(0, 0.1, 32),
            "gamma": rng.uniform(0.5, 1.5, 32),
        }.items():
            const(values, f"conv/batchnorm/{part}")
        x = tf.identity(x, name=_LEGACY_BATCH_NORM)  # replaced by the legacy op below
        x = tf.nn.relu(x, name="conv")
        x = tf.nn.max_pool2d(x, 3, 2, padding="VALID", name="pool")
        w2 = const(rng.normal(0, 0.05, (5, 5, 32, 2048)), "mixed_10/conv2d_params")
        x = tf.nn.conv2d(x, w2, strides=[1, 4, 4, 1], padding="VALID", name="mixed_10/Conv2D")
        original_head(tf.nn.relu(x, name="mixed_10/join"), rng)
    graph_def = as_2015_graph_def(graph)
    for node in graph_def.node:
        if node.name == _LEGACY_BATCH_NORM:
            node.name = "conv/batchnorm"
            node.op = "BatchNormWithGlobalNormalization"
            del node.input[:]
            node.input.extend(
                ["conv/Conv2D"]
                + [f"conv/batchnorm/{part}" for part in ("mean", "variance", "beta", "gamma")]
            )
            node.attr["variance_epsilon"].f = 0.001
            node.attr["scale_after_normalization"].b = True
        node.input[:] = [
            "conv/batchnorm" if entry == _LEGACY_BATCH_NORM else entry for entry in node.input
        ]
    graph_def.versions.producer = STANDIN_PRODUCER_VERSION
    graph_def.versions.min_consumer = 0
    return graph_def


def write_standin_graph(path: str | os.PathLike, seed: int = 0) -> Path:
    """Writes the stand-in frozen graph.

    Args:
        path: the .pb file to write, or a folder (the file is then named
            ``classify_image_graph_def.pb``, like the original).
        seed: seed of the fixed random weights.

    Returns:
        The path of the written file.
    """
    path = Path(path)
    if path.suffix != ".pb":
        path = path / "classify_image_graph_def.pb"
    graph_def = _build_graph_def(seed)
    return write_bytes_atomically(path, graph_def.SerializeToString(deterministic=True))
