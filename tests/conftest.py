"""Shared fixtures: the stand-in Inception graph, its feature function, and image folders.

Nothing here downloads anything: the graph is the stand-in from ``ttur_tf.fid.standin`` (the
original's node names and quirks, random weights), images are generated in temporary folders.
"""

import contextlib
import importlib.util
import io
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import tensorflow as tf
from absl import app, flags

# Two logical CPU devices, so that tf.distribute strategies have two replicas to split work
# between without a GPU (test_distribute.py); everything else runs on the first, as before.
# This must happen before TensorFlow's runtime starts, i.e. before any test runs an op.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)
TWO_DEVICES = "/cpu:0,/cpu:1"
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under pytest -n N each worker gets its share of the cores: N TensorFlow processes with a
    # thread per core each oversubscribe the machine (measured: -n 2 ran at 73 % of the ideal).
    threads = max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", 1)))
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)

from ttur_tf.fid import InceptionFeatures
from ttur_tf.fid.standin import write_standin_graph


def pytest_collection_modifyitems(config, items):
    """``heavy`` tests run only with TTUR_HEAVY_TESTS=1 (see README: Tests and benchmarks)."""
    if os.environ.get("TTUR_HEAVY_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="heavy: set TTUR_HEAVY_TESTS=1 to run it")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def standin_graph_path(tmp_path_factory):
    """Path of the stand-in ``classify_image_graph_def.pb``."""
    return write_standin_graph(tmp_path_factory.mktemp("inception"))


@pytest.fixture(scope="session")
def standin_features(standin_graph_path):
    """``InceptionFeatures`` on the stand-in graph."""
    return InceptionFeatures(standin_graph_path, download=False)


@pytest.fixture(autouse=True)
def no_default_graph_lookup(monkeypatch, tmp_path):
    """Keeps tests away from the user's cache and environment: lookups see only what tests make."""
    monkeypatch.delenv("TTUR_INCEPTION_DIR", raising=False)
    monkeypatch.setenv("TTUR_INCEPTION_URL", (tmp_path / "no_download_in_tests.tgz").as_uri())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # tfds.testing.mock_data leaves datasets "not prepared": no server is asked
    # (test_tfds_offline.py checks the probe itself).
    monkeypatch.setenv("TTUR_SKIP_DOWNLOAD_PROBE", "1")


def mean_color_features(batch):
    """A cheap stand-in feature function: (B, H, W, C) → (B, 6) per-channel means and stds.

    Everything that takes a feature function (statistics, FID during training) runs with it in
    milliseconds; the 2048-d stand-in graph is kept for the tests of the graph and one end-to-end
    run of each script."""
    batch = np.asarray(batch, dtype=np.float64)
    return np.concatenate([batch.mean(axis=(1, 2)), batch.std(axis=(1, 2))], axis=1)


def write_png_folder(folder, images):
    """Writes uint8 images (N, H, W, C) as 00000.png, 00001.png, … and returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        tf.io.write_file(str(folder / f"{index:05d}.png"), tf.io.encode_png(image))
    return folder


_PYTHON_OPS = ("PyFunc", "EagerPyFunc", "PyFuncStateless", "GeneratorDataset")


def python_ops_in(dataset):
    """The op types of ``dataset``'s graph (its functions included) that call back into Python:
    what ``from_generator``, ``py_function`` and ``numpy_function`` put there."""
    from tensorflow.core.framework import graph_pb2

    serialized = tf.raw_ops.DatasetToGraphV2(input_dataset=dataset._variant_tensor,
                                             external_state_policy=0)
    graph = graph_pb2.GraphDef.FromString(serialized.numpy())
    ops = {node.op for node in graph.node}
    ops.update(node.op for function in graph.library.function for node in function.node_def)
    return {op for op in ops if op in _PYTHON_OPS}


def random_images(count, height=16, width=16, channels=3, seed=0):
    """uint8 (count, height, width, channels) noise images."""
    return np.random.default_rng(seed).integers(0, 256, (count, height, width, channels), np.uint8)


ROOT = Path(__file__).resolve().parents[1]


def script_module(name):
    """The module of ``scripts/<name>`` (its ``define_flags`` and ``main``), loaded once."""
    if name not in _SCRIPT_MODULES:
        path = ROOT / "scripts" / name
        spec = importlib.util.spec_from_file_location(f"script_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _SCRIPT_MODULES[name] = module
    return _SCRIPT_MODULES[name]


_SCRIPT_MODULES = {}


def run_script_in_process(name, *args):
    """Runs ``scripts/<name>`` with ``args`` in this process, as ``absl.app.run`` would.

    Returns:
        (exit status, what it printed to stdout, what it printed to stderr). A flag that absl
        refuses gives status 1 and absl's "FATAL Flags parsing error: …" line.
    """
    module = script_module(name)
    flag_values = flags.FlagValues()
    module.define_flags(flag_values)
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            argv = flag_values([name, *map(str, args)])
            module.main(argv, flag_values)
        except flags.Error as error:
            print(f"FATAL Flags parsing error: {error}", file=sys.stderr)
            code = 1
        except app.UsageError as error:
            print(f"FATAL Flags parsing error: {error}", file=sys.stderr)
            code = 1
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return code, out.getvalue(), err.getvalue()
