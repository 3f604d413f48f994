"""Runs written before the model registry (commit 08203a9) resume with every variable restored.

``tests/data/runs_before_registry/<model>`` holds the checkpoint and ``config.json`` of a two-step
tiny run of each model as that commit wrote them (the images were ``conftest.random_images(40,
16, 16, seed=3)``, the text the built-in corpus). Resuming one for a step must read every
network and optimizer variable from it, under the same checkpoint keys.
"""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import random_images
from ttur_tf.training import TrainConfig, train

RUNS = Path(__file__).resolve().parent / "data" / "runs_before_registry"


def _network_weights(checkpoint_dir: Path) -> list[np.ndarray]:
    """The networks' variables in a checkpoint: the trainable ones are saved once, under the
    optimizer that trains them; the batch-norm statistics under the networks."""
    reader = tf.train.load_checkpoint(str(checkpoint_dir))
    return [reader.get_tensor(name) for name in sorted(reader.get_variable_to_shape_map())
            if "/_trainable_variables/" in name
            or name.startswith(("generator/", "discriminator/"))]


class _WeightsAtStart(keras.callbacks.Callback):
    """The GAN's variables when training starts (after the restore)."""

    def __init__(self):
        super().__init__()
        self.values = []

    def on_train_begin(self, logs=None):
        self.values = [variable.numpy() for variable in self.model.variables]


# The ResNet's run costs 15 s (its tracing): heavy; CI resumes the other two.
@pytest.mark.parametrize("model", [pytest.param("resnet", marks=pytest.mark.heavy), "dcgan",
                                   "language"])
def test_a_run_written_before_the_registry_resumes_from_its_checkpoint(tmp_path, model):
    run = tmp_path / model
    shutil.copytree(RUNS / model, run)
    saved = json.loads((run / "config.json").read_text())
    if model == "language":
        dataset = "builtin"
    else:
        dataset = str(tmp_path / "images.npz")
        np.savez(dataset, images=random_images(40, 16, 16, seed=3))
    saved_weights = _network_weights(run / "checkpoints")
    assert len(saved_weights) > 4, "the fixture holds the networks' weights"
    keys = ("model", "image_size", "dim", "batch_size", "seq_len", "max_n_examples", "jsd_every",
            "fid_every", "log_every", "sample_every", "checkpoint_every")
    config = TrainConfig(logdir=str(run), dataset=dataset, steps=saved["steps"] + 1,
                         **{key: saved[key] for key in keys})
    at_start = _WeightsAtStart()
    assert train(config, extra_callbacks=[at_start]).step == saved["steps"] + 1
    # Every saved weight is what the resumed networks started from (the restore checks that no
    # variable of the networks was left out: assert_existing_objects_matched).
    for weight in saved_weights:
        assert any(value.shape == weight.shape and np.array_equal(value, weight)
                   for value in at_start.values)
