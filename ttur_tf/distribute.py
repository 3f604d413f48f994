"""The distribution seam: one flag chooses where a run trains, and the same code runs everywhere.

``make_strategy("default" | "mirrored" | "multi_worker" | "tpu")`` gives the ``tf.distribute``
strategy; a single device is the default strategy and the same code path. What makes a run with R
replicas compute what one device computes with the same global batch B:

* Data: every step's element is (B, n_critic, ...): one global batch for each critic update.
  ``replica_batches`` gives each replica its B/R consecutive rows of *every* critic batch (worker
  w of W takes rows w·B/W …, then its local replicas split those in order); each worker's
  pipeline reads and decodes only its own rows.
* Randomness: noise and interpolation weights are drawn for the whole global batch from a
  stateless generator keyed by (seed, step, draw), and each replica takes its own rows
  (``replica_rows``): different on each replica, the same numbers as on one device, and a resumed
  run draws them again from the step alone.
* Losses: means over the global batch (``global_mean``): each replica divides its sum by the
  global count, so the gradients the optimizers sum over replicas are the one-device gradients.
* Batch normalization: per replica by default (each replica's statistics, as the original's
  multi-GPU towers), or synchronized over all replicas (``sync_batch_norm``), which equals one
  device.
* Files: only the chief writes events, samples and checkpoints (``is_chief``); other workers
  save their checkpoints to a scratch folder that is removed (``scratch_folder``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from ttur_tf.errors import first_line

__all__ = [
    "STRATEGIES",
    "global_mean",
    "is_chief",
    "make_strategy",
    "replica_batches",
    "replica_rows",
    "rows_of",
    "scratch_folder",
]

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def make_strategy(name: str, devices: tuple[str, ...] = (), tpu: str = ""):
    """The ``tf.distribute.Strategy`` of a run; one per process for the same arguments (two
    strategies over the same devices would share collective-op keys, which TensorFlow aborts on).

    Args:
        name: "default" (one device), "mirrored" (the local GPUs, or ``devices``),
            "multi_worker" (every worker of the cluster in ``$TF_CONFIG``, each with its local
            GPUs), "tpu" (the TPU named by ``tpu``, "" for the local one or $TPU_NAME).
        devices: device names for "mirrored", e.g. ("/gpu:0", "/gpu:1"); empty: all local GPUs
            (or the CPU if there is none).
        tpu: the TPU's name or address for "tpu".

    Raises:
        ValueError: an unknown name, devices given for another strategy, a multi-worker run
            without a cluster, or no TPU to connect to.
    """
    return _strategy(name, tuple(devices), tpu)


@functools.cache
def _strategy(name: str, devices: tuple[str, ...], tpu: str):
    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")
    if devices and name != "mirrored":
        raise ValueError(f"devices are chosen for strategy=mirrored only, not {name}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(list(devices) or None)
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("strategy=multi_worker needs the cluster in $TF_CONFIG (see the "
                             "README: every worker runs the same command with its own task index)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or None)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as error:  # the resolver raises many types (ValueError, network errors…)
        raise ValueError(f"strategy=tpu: no TPU to connect to ({first_line(error)}); "
                         "give --tpu=NAME or run on a TPU host") from error
    return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy) -> bool:
    """Whether this process writes the run's files: always, except a non-chief worker of a
    multi-worker cluster (the chief is task "chief", or worker 0 when there is none)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def scratch_folder(strategy, folder: str | os.PathLike) -> Path | None:
    """Where a non-chief worker saves its checkpoints (None for the chief and single processes).

    Every worker of a multi-worker run must take part in a save, but only the chief's copy is
    kept: the others write under ``folder/.worker-<task id>``, which is removed after each save.
    """
    if is_chief(strategy):
        return None
    return Path(folder) / f".worker-{strategy.cluster_resolver.task_id}"


def _replicas() -> tuple[int, tf.Tensor | int]:
    """(number of replicas, this replica's index among them); (1, 0) outside any strategy."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: one computation for all
        return 1, 0
    return context.num_replicas_in_sync, context.replica_id_in_sync_group


def replica_count() -> int:
    """Replicas computing together in this context (1 outside a replica context)."""
    return _replicas()[0]


def global_mean(values: tf.Tensor) -> tf.Tensor:
    """The mean of ``values`` over the global batch: this replica's sum divided by the count of
    all replicas together (the plain mean on one device). Summing the gradients of every
    replica's ``global_mean`` gives the gradient of the mean over the global batch."""
    replicas, _ = _replicas()
    count = tf.cast(tf.size(values) * replicas, values.dtype)
    return tf.reduce_sum(values) / count


def replica_rows(draw: Callable[[tf.Tensor], tf.Tensor], local_batch) -> tf.Tensor:
    """This replica's rows of something drawn for the whole global batch.

    Args:
        draw: maps the global batch size to a tensor with that many rows (e.g. noise from a
            stateless generator, the same on every replica).
        local_batch: the rows per replica.

    Returns:
        Rows [r·local_batch, (r+1)·local_batch) for replica r (all rows on one device).
    """
    replicas, replica = _replicas()
    every_row = draw(local_batch * replicas)
    start = replica * local_batch
    return every_row[start:start + local_batch]


def rows_of(global_batches: Callable[[], tf.data.Dataset]) -> Callable[[slice], tf.data.Dataset]:
    """For ``replica_batches``: the rows of a stream that only comes whole (every row is read,
    then the other rows are dropped)."""
    def these_rows(rows):
        return lambda *parts: (tuple(part[rows] for part in parts) if len(parts) > 1
                               else parts[0][rows])

    return lambda rows: global_batches().map(these_rows(rows))


def replica_batches(strategy, batches_of_rows: Callable[[slice], tf.data.Dataset],
                    global_batch: int):
    """The training data of ``strategy``'s replicas.

    Args:
        strategy: the run's strategy.
        batches_of_rows: maps the rows of each global element that an input pipeline keeps
            (a ``slice`` of [0, B)) to the stream of those rows of every element,
            (stop − start, n_critic, ...): each worker reads and decodes its own rows only.
        global_batch: B, the rows of each global element.

    Returns:
        All rows' stream for one replica; otherwise a distributed dataset in which replica r (of
        R) receives rows [r·B/R, (r+1)·B/R) of every element.

    Raises:
        ValueError: B is not a multiple of the number of replicas.
    """
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return batches_of_rows(slice(0, global_batch))
    if global_batch % replicas:
        raise ValueError(f"batch_size ({global_batch}) must be a multiple of the number of "
                         f"replicas ({replicas}): each replica takes an equal share")
    per_replica = global_batch // replicas

    def pipeline(context: tf.distribute.InputContext) -> tf.data.Dataset:
        local = context.num_replicas_in_sync // context.num_input_pipelines
        first = context.input_pipeline_id * local * per_replica

        def split(*parts):  # an element, or (batches, labels)
            pieces = tuple(
                tf.reshape(part, tf.concat([[local, per_replica], tf.shape(part)[1:]], 0))
                for part in parts)
            return tf.data.Dataset.from_tensor_slices(pieces if len(pieces) > 1 else pieces[0])

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        mine = batches_of_rows(slice(first, first + local * per_replica))
        return mine.flat_map(split).with_options(options)

    return strategy.distribute_datasets_from_function(pipeline)
