"""The scalars a training run logged, read back from its TensorBoard event files.

A resumed run logs again the steps between its last checkpoint and the interruption; for each
(tag, step) the value written last (by wall time) is the one kept, so a resumed run reads like an
uninterrupted one. A run killed while writing leaves a truncated last record: what precedes it
is read, with a warning.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import tensorflow as tf
from absl import logging

__all__ = ["Series", "read_scalars"]


@dataclasses.dataclass(frozen=True)
class Series:
    """One tag of one run: ``steps`` int64 (n,), increasing; ``values`` float64 (n,)."""

    steps: np.ndarray
    values: np.ndarray


def _scalar(value) -> float | None:
    """The number a summary value holds, or None for images, text, HParams and other non-scalars."""
    if value.HasField("simple_value"):
        return float(value.simple_value)
    if not value.HasField("tensor"):
        return None
    array = tf.make_ndarray(value.tensor)
    if array.shape != () or not np.issubdtype(array.dtype, np.number):
        return None
    return float(array)


def _events(path: Path):
    """The ``tf.compat.v1.Event`` records of one event file, up to a truncated or corrupt one."""
    try:
        for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
            yield tf.compat.v1.Event.FromString(record)
    except tf.errors.DataLossError:
        logging.warning("%s ends in a truncated record (the run was killed while writing); "
                        "reading what precedes it", path)


def read_scalars(logdir: str | os.PathLike) -> dict[str, Series]:
    """Every scalar tag in the event files directly in ``logdir`` (not in its subfolders).

    Raises:
        FileNotFoundError: ``logdir`` holds no event file.
    """
    files = sorted(Path(logdir).glob("events.out.tfevents.*"))
    if not files:
        raise FileNotFoundError(f"{logdir} holds no TensorBoard event file: the run has not "
                                "logged yet; run (or rerun) it first")
    latest: dict[str, dict[int, tuple[float, float]]] = {}  # tag → step → (wall time, value)
    for path in files:
        for event in _events(path):
            for value in event.summary.value:
                number = _scalar(value)
                if number is None:
                    continue
                by_step = latest.setdefault(value.tag, {})
                previous = by_step.get(event.step)
                if previous is None or event.wall_time >= previous[0]:
                    by_step[event.step] = (event.wall_time, number)
    series = {}
    for tag, by_step in latest.items():
        steps = np.array(sorted(by_step), dtype=np.int64)
        series[tag] = Series(steps, np.array([by_step[step][1] for step in steps.tolist()]))
    return series
