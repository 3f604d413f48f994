"""``results.json`` of a Table 1 reproduction: one entry per run, read from what the run wrote.

An entry (JSON object) holds:

* ``row``, ``setting`` ("ttur" or "orig"), ``seed``, ``flagfile``, ``logdir``, ``status``
  ("finished" when the run reached its last step, else "unfinished");
* ``best``: {metric: {"value": lowest value logged, "step": its step}} for the row's metrics
  ("fid", or "js4" and "js6"), from the run's TensorBoard events;
* ``step`` (the last step logged), ``steps`` (the run's ``--steps``), ``wall_seconds`` (the run's
  ``elapsed_seconds`` at its last step: training and evaluations, resumes included),
  ``steps_per_second`` (``step / wall_seconds``);
* ``overrides``: the arguments given beyond the flagfile that change what is trained (anything
  but where data, graph and statistics are and how devices are used); an entry with overrides
  is not the paper's setting, and the rendered table says so;
* ``strategy``, ``inception_sha256`` (of the graph the run's FID used; null for text);
* ``environment``: ``device``, ``commit``, ``versions`` of the machine that finished the run
  (kept from an earlier ``results.json`` for runs finished before).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ttur_tf.files import write_bytes_atomically
from ttur_tf.sweep.event_scalars import read_scalars

__all__ = ["NEUTRAL_FLAGS", "environment", "overrides", "read_results", "run_entry",
           "write_results"]

# Flags that say where things are or how devices are used, not what is trained.
NEUTRAL_FLAGS = ("--dataset", "--fid_stats", "--inception_path", "--strategy", "--devices",
                 "--tpu", "--logdir", "--seed", "--flagfile")
_PACKAGES = ("tensorflow", "keras", "tensorflow_datasets", "numpy", "scipy", "absl")


def overrides(arguments: list[str]) -> list[str]:
    """The ``arguments`` that change what is trained (see ``NEUTRAL_FLAGS``)."""
    return [argument for argument in arguments
            if argument.split("=", 1)[0] not in NEUTRAL_FLAGS]


@functools.lru_cache(maxsize=None)
def _sha256_of_version(path: str, modified_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    """SHA-256 of a file, read once per version of it: every image run of a reproduction names
    the same 95 MB graph."""
    status = path.stat()
    return _sha256_of_version(str(path), status.st_mtime_ns, status.st_size)


def _graph_sha256(config: dict) -> str | None:
    """SHA-256 of the Inception graph a run's FID read; None for text or no graph found."""
    if config.get("model") == "language":
        return None
    from ttur_tf.fid.inception import InceptionGraphError, locate_graph

    try:
        return _file_sha256(locate_graph(config.get("inception_path") or None, download=False))
    except (OSError, ValueError, InceptionGraphError):
        return None


def run_entry(row: str, setting: str, seed: int, flagfile: Path, logdir: Path,
              metrics: tuple[str, ...], arguments: list[str],
              scalars_of: Callable[[str], dict] = read_scalars) -> dict:
    """The entry of one run from its folder (``config.json`` and events); ``arguments``: those
    given beyond its flagfile; ``scalars_of``: reads a run folder's scalars (``read_scalars``,
    or a cache of it shared with the figures). A run that has not logged yet is "unfinished"
    with no values."""
    entry = dict(row=row, setting=setting, seed=seed, flagfile=str(flagfile), logdir=str(logdir),
                 status="unfinished", best={}, step=0, steps=None, wall_seconds=None,
                 steps_per_second=None, overrides=overrides(arguments), strategy=None,
                 inception_sha256=None)
    try:
        config = json.loads((logdir / "config.json").read_text())
    except (OSError, ValueError):
        return entry
    entry.update(steps=config.get("steps"), strategy=config.get("strategy"),
                 inception_sha256=_graph_sha256(config))
    try:
        scalars = scalars_of(str(logdir))
    except FileNotFoundError:
        return entry
    entry["step"] = max((int(series.steps[-1]) for series in scalars.values()
                         if series.steps.size), default=0)
    for metric in metrics:
        series = scalars.get(metric)
        if series is None or not np.isfinite(series.values).any():
            continue
        index = int(np.nanargmin(np.where(np.isfinite(series.values), series.values, np.nan)))
        entry["best"][metric] = {"value": float(series.values[index]),
                                 "step": int(series.steps[index])}
    clock = scalars.get("elapsed_seconds")
    if clock is not None and clock.steps.size:
        entry["wall_seconds"] = float(clock.values[-1])
        if entry["wall_seconds"] > 0:
            entry["steps_per_second"] = int(clock.steps[-1]) / entry["wall_seconds"]
    if entry["steps"] is not None and entry["step"] >= entry["steps"]:
        entry["status"] = "finished"
    return entry


def _device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                 for gpu in gpus]
        return f"{len(gpus)}× " + ", ".join(sorted(set(names)))
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {model}, {os.cpu_count()} cores"


def _commit(source: Path) -> str | None:
    """The project's git commit (with "+changes" if the work tree differs), None outside git."""
    try:
        commit = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "-C", str(source), "status", "--porcelain",
                                  "--untracked-files=no"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+changes" if changed else "")


def environment(source: Path) -> dict:
    """``device``, ``commit`` (of the project at ``source``) and ``versions`` of this machine."""
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package.replace("absl", "absl-py"))
        except metadata.PackageNotFoundError:
            versions[package] = None
    return dict(device=_device(), commit=_commit(source), versions=versions)


def read_results(path: Path) -> list[dict]:
    """The entries of an existing ``results.json`` ([] if there is none).

    Raises:
        ValueError: the file is not a results file, with what to do.
    """
    if not path.exists():
        return []
    try:
        return list(json.loads(path.read_text())["runs"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a results file of reproduce_table1.py ({error}); move "
                         "it away or choose another --out_dir") from error


def write_results(path: Path, entries: list[dict], previous: list[dict],
                  this_machine: dict) -> list[dict]:
    """Writes ``entries`` (atomically); a finished entry keeps the ``environment`` it had in
    ``previous`` if it was finished there with the same step, else gets ``this_machine``.
    Entries of ``previous`` for runs not in ``entries`` are kept. Returns what was written."""
    key = lambda entry: (entry["row"], entry["setting"], entry["seed"])  # noqa: E731
    before = {key(entry): entry for entry in previous}
    written = []
    for entry in entries:
        old = before.pop(key(entry), None)
        if entry["status"] == "finished":
            same_run = old is not None and old.get("status") == "finished" \
                and old.get("step") == entry["step"] and "environment" in old
            entry = dict(entry, environment=old["environment"] if same_run else this_machine)
        written.append(entry)
    written.extend(before.values())
    written.sort(key=key)
    write_bytes_atomically(path, (json.dumps({"runs": written}, indent=1) + "\n").encode())
    return written
