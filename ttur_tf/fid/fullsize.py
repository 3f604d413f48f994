"""A frozen graph with the 2015 Inception graph's interface and the real network's cost, for
measuring speed and memory offline.

The real ``classify_image_graph_def.pb`` cannot be downloaded everywhere, and the stand-in
(``standin.py``) is a few dozen nodes: what it costs says nothing of a 50,000-sample FID. This
graph has the stand-in's interface (``ExpandDims:0`` taking one image of any size, the legacy
bilinear resize to 299×299 and the normalisation, ``pool_3:0`` of 2,048 features,
``softmax/logits/MatMul`` over 1,008 classes with ``softmax/weights`` and ``softmax/biases``) in
front of and behind the Inception-v3 architecture of ``keras.applications.InceptionV3`` with
random weights, frozen to constants (about the real graph's 5.7 GFLOPs per image).

Its scores are MEANINGLESS: it measures costs only. Build it on demand (into a cache); never
commit it (about 90 MB).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from ttur_tf.fid.standin import as_2015_graph_def, original_head, original_input
from ttur_tf.files import write_bytes_atomically

__all__ = ["COSTS_ONLY_MARKER", "FULLSIZE_FILE_NAME", "cached_fullsize_graph",
           "write_fullsize_graph"]

FULLSIZE_FILE_NAME = "fullsize_inception_costs_only.pb"
# A node of the graph that says what it is, so that nothing takes it for the real one.
COSTS_ONLY_MARKER = "ttur_tf_costs_only_random_weights"


def _frozen_inception_v3(seed: int) -> tuple[tf.compat.v1.GraphDef, str, str]:
    """Inception-v3 without its top, random weights: (frozen GraphDef, its input tensor's
    name, its output's name). Input float32 [N, 299, 299, 3] in [-1, 1]; output [N, 8, 8, 2048]
    (mixed_10)."""
    import keras
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    keras.utils.set_random_seed(seed)
    network = keras.applications.InceptionV3(weights=None, include_top=False,
                                             input_shape=(299, 299, 3))
    forward = tf.function(lambda images: network(images, training=False))
    concrete = forward.get_concrete_function(tf.TensorSpec([None, 299, 299, 3], tf.float32))
    frozen = convert_variables_to_constants_v2(concrete)
    return frozen.graph.as_graph_def(), frozen.inputs[0].name, frozen.outputs[0].name


def _build_graph_def(seed: int) -> tf.compat.v1.GraphDef:
    body, input_name, output_name = _frozen_inception_v3(seed)
    graph = tf.Graph()
    with graph.as_default():
        normalised = original_input()
        features, = tf.graph_util.import_graph_def(
            body, input_map={input_name: normalised}, return_elements=[output_name],
            name="inception_v3")
        join = tf.identity(features, name="mixed_10/join")
        original_head(join, np.random.RandomState(seed))
        tf.constant("random weights: costs only, scores meaningless", name=COSTS_ONLY_MARKER)
    return as_2015_graph_def(graph)


def write_fullsize_graph(path: str | os.PathLike, seed: int = 0) -> Path:
    """Builds and writes the full-size costs-only graph (about 90 MB, a minute on 2 cores).

    Args:
        path: the .pb file to write, or a folder (the file is then ``FULLSIZE_FILE_NAME``).
        seed: seed of the random weights.

    Returns:
        The path of the written file.
    """
    path = Path(path)
    if path.suffix != ".pb":
        path = path / FULLSIZE_FILE_NAME
    graph_def = _build_graph_def(seed)
    return write_bytes_atomically(path, graph_def.SerializeToString(deterministic=True))


def cached_fullsize_graph() -> Path:
    """The full-size costs-only graph in the user cache folder (``default_cache_dir``), built
    there the first time it is asked for (a minute on 2 cores, said on stdout)."""
    from ttur_tf.fid.inception import default_cache_dir

    path = default_cache_dir() / FULLSIZE_FILE_NAME
    if not path.is_file():
        print(f"building the full-size costs-only Inception graph into {path} (once)")
        write_fullsize_graph(path)
    return path
