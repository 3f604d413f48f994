"""The classes of a class-conditional run: recorded in its folder, and shown a row each.

``classes.json`` in a run's folder records the classes the run was started with (their number,
names and shares of the data). A resumed run must find the same classes in its data: a label
means the class it meant when the networks learned it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ttur_tf.files import write_bytes_atomically

__all__ = ["CLASSES_FILE", "GRID_CLASSES", "GRID_SAMPLES_PER_CLASS", "check_classes",
           "class_grid_inputs"]

CLASSES_FILE = "classes.json"
GRID_CLASSES = 16  # at most this many classes in the sample grid, spread over all of them
GRID_SAMPLES_PER_CLASS = 8


def check_classes(path: Path, data, write: bool) -> None:
    """Records ``data``'s classes in ``path`` (if ``write`` and it does not exist yet), or checks
    that they are the ones recorded there.

    Args:
        path: the run's ``classes.json``.
        data: a labelled ``ttur_tf.data.images.ImageData``.
        write: whether this process writes the run's folder (the chief).

    Raises:
        ValueError: the data's classes differ from the recorded ones (the message names both).
    """
    classes = {"num_classes": data.num_classes, "class_names": list(data.class_names)}
    if path.is_file():
        recorded = json.loads(path.read_text())
        if {key: recorded.get(key) for key in classes} != classes:
            raise ValueError(
                f"{path.parent} was trained on {recorded.get('num_classes')} classes "
                f"{recorded.get('class_names')}, but {data.name} has {data.num_classes} classes "
                f"{list(data.class_names)}: resume with the data it was trained on, or use a new "
                "--logdir")
        return
    if write:
        record = dict(classes, class_frequencies=data.class_frequencies().tolist())
        write_bytes_atomically(path, json.dumps(record, indent=2).encode())


def class_grid_inputs(gan, rng: np.random.Generator, class_names: tuple[str, ...]):
    """Fixed inputs of a conditional generator for a grid with one class per row.

    Returns:
        ((noise, labels), columns, description): ``GRID_SAMPLES_PER_CLASS`` samples of each of
        at most ``GRID_CLASSES`` classes spread evenly over all of them; the description names
        the class of each row.
    """
    shown = np.unique(np.linspace(0, gan.num_classes - 1, min(gan.num_classes, GRID_CLASSES))
                      .round().astype(np.int32))
    labels = np.repeat(shown, GRID_SAMPLES_PER_CLASS)
    noise = gan.numpy_noise(rng, len(labels))
    rows = ", ".join(f"{row}: {class_names[label] if label < len(class_names) else label}"
                     for row, label in enumerate(shown))
    return (noise, labels), GRID_SAMPLES_PER_CLASS, f"One class per row (row: class): {rows}"
