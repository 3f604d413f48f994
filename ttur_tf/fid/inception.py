"""The original frozen 2015 Inception graph: find, download, validate, and run it batched.

Reproduces bioinf-jku/TTUR fid.py (``check_or_download_inception``, ``create_inception_graph``,
``get_activations``) on TensorFlow 2 without its private-attribute hacks:

* The graph was frozen with a static batch size of 1 on ``ExpandDims`` (shape [1, ?, ?, 3]). We
  import only the part from ``ExpandDims`` to ``pool_3`` and map ``ExpandDims:0`` onto an input of
  shape [None, None, None, 3] (``input_map``), so shape inference runs afresh for any batch size.
* The graph resizes (its own legacy ``ResizeBilinear`` to 299×299, no half-pixel centres) and
  normalises (``Sub`` 128, ``Mul`` 1/128) by itself. Images are therefore fed as float32 pixel values
  in 0..255 at any size, and never resized or rescaled here: TF2's ``tf.image.resize`` cannot
  reproduce the TF1 kernel (tensorflow#44038), and parity with published FIDs would be lost.
* The graph is GraphDef version < 9 and uses ``BatchNormWithGlobalNormalization``, an op that
  TF2's function runtime refuses to run ("removed in version 9"). Each such node is rewritten into
  the primitive ops its kernel evaluates, in the kernel's order:
  (t − m) · (rsqrt(v + ε) · γ) + β. Tests check the result against the unmodified graph run in a
  ``tf.compat.v1.Session`` one image at a time, as the original runs it.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf
from absl import logging

from ttur_tf.errors import InceptionGraphError, first_line
from ttur_tf.freed_memory import return_freed_memory

__all__ = [
    "GRAPH_FILENAME",
    "INCEPTION_TGZ_SIZE",
    "INCEPTION_URL",
    "InceptionFeatures",
    "InceptionGraphError",
    "default_cache_dir",
    "download_graph",
    "locate_graph",
    "pool3_subgraph",
    "prepare_images",
    "read_graph_def",
]

INCEPTION_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
# Size of the 2015-12-05 release tarball (tensorflow#5933): a shorter file is a truncated download.
INCEPTION_TGZ_SIZE = 88_931_400
GRAPH_FILENAME = "classify_image_graph_def.pb"
INPUT_TENSOR = "ExpandDims:0"
OUTPUT_NODE = "pool_3"
# Every batch the graph runs: any count and image size, RGB, float32 values 0..255.
_IMAGES_SPEC = tf.TensorSpec([None, None, None, 3], tf.float32)
FEATURE_DIM = 2048
# The classifier's matrix product; its second input is the (2048, 1008) weight matrix, which the
# Inception Score's reference code (openai/improved-gan) multiplies pool_3 with (no bias).
CLASSIFIER_MATMUL = "softmax/logits/MatMul"
_ENV_DIR = "TTUR_INCEPTION_DIR"
_ENV_URL = "TTUR_INCEPTION_URL"  # a mirror of the tarball (same bytes), e.g. inside a firewall
_SOURCE_CHECKOUT_DIR = Path(__file__).resolve().parents[2] / "inception"


def default_cache_dir() -> Path:
    """The user cache folder for the graph: ``$XDG_CACHE_HOME/ttur_tf`` or ``~/.cache/ttur_tf``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ttur_tf"


def _how_to_install() -> str:
    return (
        f"Download {INCEPTION_URL} on a machine with internet access, extract {GRAPH_FILENAME} "
        f"from it, and pass its path with --inception_path, or set ${_ENV_DIR} to its folder, or "
        f"put it in {default_cache_dir()} (see inception/README.md)."
    )


def _graph_in(folder: Path) -> Path:
    return folder / GRAPH_FILENAME


def locate_graph(inception_path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Finds the frozen graph, downloading it when absent.

    Lookup order: ``inception_path`` (a .pb file, or a folder that holds or will hold it) →
    ``$TTUR_INCEPTION_DIR`` → ``inception/`` of a source checkout → the user cache folder. When no
    file is found, the graph is downloaded into the first folder named (explicit, env var, cache)
    from ``$TTUR_INCEPTION_URL`` if set (a mirror of the same tarball), else the original URL.

    Args:
        inception_path: a file or folder; None to search the default places.
        download: whether a missing graph may be downloaded.

    Returns:
        The path of ``classify_image_graph_def.pb``.

    Raises:
        FileNotFoundError: ``inception_path`` names a file that does not exist.
        InceptionGraphError: the graph is absent and cannot be downloaded.
    """
    if inception_path is not None:
        path = Path(inception_path).expanduser()
        if path.is_file():
            return path
        if path.suffix == ".pb" or (path.exists() and not path.is_dir()):
            raise FileNotFoundError(f"Inception graph file {path} does not exist. {_how_to_install()}")
        target_dir = path
    elif os.environ.get(_ENV_DIR):
        target_dir = Path(os.environ[_ENV_DIR]).expanduser()
    elif _graph_in(_SOURCE_CHECKOUT_DIR).is_file():
        return _graph_in(_SOURCE_CHECKOUT_DIR)
    else:
        target_dir = default_cache_dir()
    if _graph_in(target_dir).is_file():
        return _graph_in(target_dir)
    if not download:
        raise InceptionGraphError(f"No Inception graph at {_graph_in(target_dir)}. {_how_to_install()}")
    return download_graph(target_dir, url=os.environ.get(_ENV_URL, INCEPTION_URL))


def download_graph(
    dest_dir: str | os.PathLike,
    url: str = INCEPTION_URL,
    expected_size: int | None = INCEPTION_TGZ_SIZE,
) -> Path:
    """Downloads the Inception release tarball and extracts only the frozen graph from it.

    The tarball is streamed to a temporary file next to the destination, its size checked (a
    truncated download is rejected before extraction), and only the member named
    ``classify_image_graph_def.pb`` is read from it; the graph is written under a temporary name,
    validated, then renamed into place, so an interrupted run never leaves a partial file behind.

    Args:
        dest_dir: the folder to write ``classify_image_graph_def.pb`` into (created if needed).
        url: the tarball's URL (any scheme urllib supports, e.g. file:// in tests).
        expected_size: the tarball's size in bytes, or None to skip the check.

    Returns:
        The path of the extracted graph.

    Raises:
        InceptionGraphError: the download failed, was truncated, or held no valid graph.
    """
    dest_dir = Path(dest_dir).expanduser()
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = _graph_in(dest_dir)
    logging.info("Downloading the Inception graph from %s to %s", url, dest_dir)
    with tempfile.TemporaryDirectory(dir=dest_dir, prefix=".download-") as scratch:
        tgz_path = Path(scratch) / "inception.tgz"
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(tgz_path, "wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
        except (urllib.error.URLError, OSError) as error:
            raise InceptionGraphError(
                f"Could not download the Inception graph from {url} ({error}). {_how_to_install()}"
            ) from error
        size = tgz_path.stat().st_size
        if expected_size is not None and size != expected_size:
            raise InceptionGraphError(
                f"The download from {url} has {size:,} bytes, not the expected {expected_size:,}: "
                f"it is truncated or not the 2015-12-05 release. {_how_to_install()}"
            )
        graph_tmp = Path(scratch) / GRAPH_FILENAME
        try:
            with tarfile.open(tgz_path, mode="r:*") as archive:
                members = [
                    m
                    for m in archive.getmembers()
                    if m.name in (GRAPH_FILENAME, "./" + GRAPH_FILENAME)
                ]
                if not members or not members[0].isfile():
                    raise InceptionGraphError(
                        f"The archive from {url} holds no regular file {GRAPH_FILENAME}. "
                        f"{_how_to_install()}"
                    )
                # Read the member's bytes ourselves: no path from the archive is ever written to.
                with archive.extractfile(members[0]) as source, open(graph_tmp, "wb") as out:
                    while chunk := source.read(1 << 20):
                        out.write(chunk)
        except (tarfile.TarError, EOFError, OSError) as error:
            raise InceptionGraphError(
                f"The archive from {url} is corrupt ({error}). {_how_to_install()}"
            ) from error
        read_graph_def(graph_tmp)
        os.replace(graph_tmp, target)
    logging.info("Inception graph written to %s", target)
    return target


def read_graph_def(path: str | os.PathLike, data: bytes | None = None) -> tf.compat.v1.GraphDef:
    """Parses a frozen graph and checks that it has the nodes FID needs.

    Args:
        path: the graph file (named in errors).
        data: its bytes, if already read; read from ``path`` when None.

    Raises:
        InceptionGraphError: the file cannot be parsed or lacks ``ExpandDims`` or ``pool_3``.
    """
    path = Path(path)
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(path.read_bytes() if data is None else data)
    except Exception as error:  # protobuf raises its own DecodeError (and others on garbage)
        raise InceptionGraphError(
            f"{path} is not a frozen TensorFlow graph (it could not be parsed: {error}). Delete it "
            f"and download it again. {_how_to_install()}"
        ) from error
    names = {node.name for node in graph_def.node}
    missing = [name for name in ("ExpandDims", OUTPUT_NODE) if name not in names]
    if missing:
        raise InceptionGraphError(
            f"{path} is not the Inception graph FID needs: it has no node {', '.join(missing)}. "
            f"{_how_to_install()}"
        )
    return graph_def


def pool3_subgraph(graph_def: tf.compat.v1.GraphDef) -> tf.compat.v1.GraphDef:
    """The nodes ``pool_3`` depends on, stopping at ``ExpandDims`` (which becomes the input)."""
    by_name = {node.name: node for node in graph_def.node}
    needed, pending = set(), [OUTPUT_NODE]
    while pending:
        name = pending.pop()
        if name in needed or name == "ExpandDims":
            continue
        needed.add(name)
        pending.extend(entry.lstrip("^").split(":")[0] for entry in by_name[name].input)
    subgraph = tf.compat.v1.GraphDef()
    subgraph.versions.CopyFrom(graph_def.versions)
    subgraph.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        if node.name in needed:
            copy = subgraph.node.add()
            copy.CopyFrom(node)
            copy.device = ""  # let TensorFlow place the ops (the 2015 graph pins some to a device)
    return subgraph


def _node(graph_def, name: str, op: str, inputs: list[str], dtype_attr) -> None:
    node = graph_def.node.add()
    node.name, node.op = name, op
    node.input.extend(inputs)
    node.attr["T"].CopyFrom(dtype_attr)


def _lower_legacy_batch_norm(graph_def: tf.compat.v1.GraphDef) -> tf.compat.v1.GraphDef:
    """Rewrites ``BatchNormWithGlobalNormalization`` nodes into primitive ops, same arithmetic."""
    lowered = tf.compat.v1.GraphDef()
    lowered.versions.CopyFrom(graph_def.versions)
    lowered.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        if node.op != "BatchNormWithGlobalNormalization":
            lowered.node.add().CopyFrom(node)
            continue
        t, mean, variance, beta, gamma = node.input[:5]
        dtype_attr = node.attr["T"]
        epsilon = node.attr["variance_epsilon"].f
        prefix = node.name + "/_lowered"
        const = lowered.node.add()
        const.name, const.op = prefix + "/epsilon", "Const"
        const.attr["dtype"].type = dtype_attr.type
        const.attr["value"].tensor.CopyFrom(
            tf.make_tensor_proto(epsilon, dtype=tf.dtypes.as_dtype(dtype_attr.type))
        )
        _node(lowered, prefix + "/variance_eps", "AddV2", [variance, const.name], dtype_attr)
        _node(lowered, prefix + "/rsqrt", "Rsqrt", [prefix + "/variance_eps"], dtype_attr)
        scale = prefix + "/rsqrt"
        if node.attr["scale_after_normalization"].b:
            _node(lowered, prefix + "/scale", "Mul", [scale, gamma], dtype_attr)
            scale = prefix + "/scale"
        _node(lowered, prefix + "/centered", "Sub", [t, mean], dtype_attr)
        _node(lowered, prefix + "/scaled", "Mul", [prefix + "/centered", scale], dtype_attr)
        # The last op keeps the node's name, so its consumers need no rewiring.
        _node(lowered, node.name, "AddV2", [prefix + "/scaled", beta], dtype_attr)
    return lowered


def _import_pool3(subgraph: tf.compat.v1.GraphDef, path: Path):
    """A concrete function (N, H, W, 3) float32 → (N, 1, 1, 2048) running ``subgraph`` (the
    pool_3 subgraph, legacy ops lowered)."""

    def run_graph(images):
        (pool3,) = tf.compat.v1.import_graph_def(
            subgraph,
            input_map={INPUT_TENSOR: images},
            return_elements=[OUTPUT_NODE + ":0"],
            name="FID_Inception_Net",
        )
        return pool3

    try:
        pool3_fn = tf.compat.v1.wrap_function(
            run_graph, [tf.TensorSpec([None, None, None, 3], tf.float32, name="images")]
        )
    except (ValueError, tf.errors.OpError) as error:
        raise InceptionGraphError(
            f"{path} could not be imported as the Inception graph ({error}). {_how_to_install()}"
        ) from error
    channels = pool3_fn.outputs[0].shape[-1]
    if channels != FEATURE_DIM:
        raise InceptionGraphError(
            f"{path}: pool_3 has {channels} channels, not {FEATURE_DIM}: this is not the Inception "
            f"graph FID is defined with. {_how_to_install()}"
        )
    return pool3_fn


def _class_weights(graph_def: tf.compat.v1.GraphDef) -> np.ndarray | None:
    """The classifier's (2048, classes) float32 weights, or None if the graph has none."""
    by_name = {node.name: node for node in graph_def.node}
    matmul = by_name.get(CLASSIFIER_MATMUL)
    if matmul is None or len(matmul.input) < 2:
        return None
    weights = by_name.get(matmul.input[1].split(":")[0])
    while weights is not None and weights.op == "Identity":  # frozen variables read through one
        weights = by_name.get(weights.input[0].split(":")[0])
    if weights is None or weights.op != "Const":
        return None
    matrix = tf.make_ndarray(weights.attr["value"].tensor).astype(np.float32)
    return matrix if matrix.ndim == 2 and matrix.shape[0] == FEATURE_DIM else None


def _check_pixel_range(images) -> None:
    """Eager checks that images hold pixel values 0..255 (errors for NaN, ±inf, values below 0
    or above 255)."""
    values = images.numpy() if isinstance(images, tf.Tensor) else images
    if values.size == 0:
        return
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        bad = int(np.count_nonzero(~np.isfinite(values)))
        raise ValueError(
            f"images hold {bad} NaN or infinite pixel values: FID needs finite pixel values in "
            "0..255 (a generator that produced NaN has diverged)"
        )
    low, high = float(values.min()), float(values.max())
    if low < 0 or high > 255:
        raise ValueError(
            f"image values must be pixel values in 0..255, got values in [{low:.4g}, {high:.4g}]. "
            "Generator outputs in [-1, 1] must be mapped with (x + 1) * 127.5 first."
        )
    if high <= 1.0 and values.dtype.kind == "f":
        warnings.warn(
            f"the images' maximum is {high:.4g} ≤ 1: the Inception graph expects pixel values "
            "0..255, not [0, 1]; multiply by 255 (FID would be meaningless otherwise).",
            stacklevel=3,
        )


def prepare_images(images) -> tf.Tensor:
    """Turns a batch of images into the graph's input: float32 (N, H, W, 3), values 0..255.

    Args:
        images: (N, H, W, C) array or tensor, uint8 or float, pixel values 0..255. C = 1
            (grayscale, repeated to 3 channels), 2 (grayscale + alpha), 3 (RGB) or 4 (RGBA; the
            alpha channel is dropped). Pixels are never resized or rescaled: the graph does that.

    Returns:
        A float32 tensor (N, H, W, 3).

    Raises:
        ValueError: wrong rank, channel count or value range, or NaN/infinite values.
    """
    if not isinstance(images, tf.Tensor):
        images = np.asarray(images)
        if images.dtype.kind not in "uif":
            raise ValueError(f"images must be a numeric array, got dtype {images.dtype}")
    shape = tuple(images.shape)
    if len(shape) != 4:
        raise ValueError(
            f"images must be a batch of shape (N, H, W, C) (channels last), got shape {shape}; "
            "add a batch axis for a single image"
        )
    channels = shape[-1]
    if channels not in (1, 2, 3, 4):
        raise ValueError(
            f"images must have 1, 2, 3 or 4 channels (channels last, NHWC), got shape {shape}; "
            "if the channels come first (NCHW), transpose to (N, H, W, C)"
        )
    if tf.executing_eagerly():
        _check_pixel_range(images)
    images = tf.cast(images, tf.float32)
    if channels in (1, 2):
        images = tf.repeat(images[..., :1], 3, axis=-1)
    elif channels == 4:
        images = images[..., :3]
    if not tf.executing_eagerly():
        in_range = [
            tf.debugging.assert_all_finite(images, "pixel values must be finite (not NaN or ±inf)"),
            tf.debugging.assert_greater_equal(images, 0.0, message="pixel values must be ≥ 0"),
            tf.debugging.assert_less_equal(images, 255.0, message="pixel values must be ≤ 255"),
        ]
        with tf.control_dependencies(in_range):
            images = tf.identity(images)
    return images


def _import_graph(path: Path):
    """Reads, checks and imports the graph file at ``path``; its parsed copies are freed on
    return (before the first call's optimisation makes its own).

    Returns:
        (the file's SHA-256 in hex, the classifier's (2048, classes) float32 weights as a constant
        or None for a graph without one, the pool_3 function of ``_import_pool3``).
    """
    data = path.read_bytes()
    graph_def = read_graph_def(path, data)
    weights = _class_weights(graph_def)
    subgraph = _lower_legacy_batch_norm(pool3_subgraph(graph_def))
    return (hashlib.sha256(data).hexdigest(), None if weights is None else tf.constant(weights),
            _import_pool3(subgraph, path))


class InceptionFeatures:
    """Maps batches of images to the original Inception graph's pool_3 features.

    Works eagerly and inside ``tf.function``; any batch size and image size (each batch must share
    one size: the graph resizes each image itself with its own TF1 bilinear kernel).

    Attributes:
        graph_path: the frozen graph file used.
        graph_sha256: its SHA-256, recorded in saved statistics.

    Args:
        inception_path: the graph file or its folder; None to search the default places
            (see ``locate_graph``).
        download: whether a missing graph may be downloaded.
    """

    def __init__(self, inception_path: str | os.PathLike | None = None, download: bool = True):
        self.graph_path = locate_graph(inception_path, download=download)
        self.graph_sha256, self._class_weights, self._pool3 = _import_graph(self.graph_path)
        # One function, traced once for every batch and image size: each instantiation of the
        # graph holds its own copy of the constants (and a run of grappler to make it).
        self._run_graph = tf.function(self._features_and_logits_of_prepared,
                                      input_signature=[_IMAGES_SPEC])
        return_freed_memory()  # the parsed graph's copies, before grappler's (lower peak)
        try:  # ops that import but cannot run (e.g. other legacy ops) fail here, not at first use
            self._run_graph(tf.zeros([1, 8, 8, 3]))
        except tf.errors.OpError as error:
            raise InceptionGraphError(
                f"{self.graph_path} cannot be run by this TensorFlow ({first_line(error)}). "
                f"{_how_to_install()}"
            ) from error
        return_freed_memory()  # grappler's copies of the weights (~450 MiB at full size)

    @property
    def graph(self) -> tf.Graph:
        """The imported graph (to inspect its ops, e.g. the resize kernel's attributes)."""
        return self._pool3.graph

    def _features_and_logits_of_prepared(self, images: tf.Tensor):
        """(features (N, 2048), logits (N, classes)); logits (N, 0) for a graph without a
        classifier. The logits cost 2M multiply-adds an image against Inception's 5.7G."""
        features = tf.reshape(self._pool3(images), [-1, FEATURE_DIM])
        if self._class_weights is None:
            return features, tf.zeros([tf.shape(features)[0], 0])
        return features, tf.matmul(features, self._class_weights)

    @property
    def num_classes(self) -> int | None:
        """The classifier's number of classes (1008 for the 2015 graph), None without one."""
        return None if self._class_weights is None else int(self._class_weights.shape[1])

    def features_and_logits(self, images) -> tuple[tf.Tensor, tf.Tensor]:
        """Pool_3 features and class logits of a batch, from one run of the graph.

        The logits are pool_3 times the classifier's weights, without its bias, as the
        Inception Score's reference code computes them (its softmax of these is the IS's p(y|x)).

        Args:
            images: as ``__call__``.

        Returns:
            float32 tensors (N, 2048) and (N, classes).

        Raises:
            InceptionGraphError: the graph has no classifier (``softmax/logits/MatMul``).
        """
        if self._class_weights is None:
            raise InceptionGraphError(
                f"{self.graph_path} has no classifier ({CLASSIFIER_MATMUL} with constant weights): "
                "the Inception Score needs the original graph's class logits. "
                f"{_how_to_install()}"
            )
        return self._run_graph(prepare_images(images))

    def __call__(self, images) -> tf.Tensor:
        """Pool_3 features of a batch.

        Args:
            images: (N, H, W, C) uint8 or float pixel values 0..255; see ``prepare_images``.

        Returns:
            float32 tensor (N, 2048).
        """
        return self._run_graph(prepare_images(images))[0]
