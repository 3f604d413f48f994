"""Shared fixtures: the stand-in Inception graph, its feature function, and image folders.

Nothing here downloads anything: the graph is the stand-in from ``ttur_tf.fid.standin`` (the
original's node names and quirks, random weights), images are generated in temporary folders.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import tensorflow as tf

from ttur_tf.fid import InceptionFeatures
from ttur_tf.fid.standin import write_standin_graph


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


def write_png_folder(folder, images):
    """Writes uint8 images (N, H, W, C) as 00000.png, 00001.png, … and returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        tf.io.write_file(str(folder / f"{index:05d}.png"), tf.io.encode_png(image))
    return folder


def random_images(count, height=16, width=16, channels=3, seed=0):
    """uint8 (count, height, width, channels) noise images."""
    return np.random.default_rng(seed).integers(0, 256, (count, height, width, channels), np.uint8)
