"""What a Table 1 row costs on a GPU, estimated from its training iteration measured here.

For a row (its TTUR and original flagfiles) this measures, at the flagfile's sizes:

* the float operations of one training iteration, counted by TensorFlow's profiler on the traced
  ``train_step``: F(n) = F(1) + (n − 1)·D for ``n_critic`` = n, D the critic update's share
  (from the traces at n = 1 and n = 2);
* the seconds of one iteration here (``fit`` on batches held in memory, at n_critic = 1) and
  this machine's float32 matmul rate (the best of a few 2048×2048 products);
* the evaluations: ``steps // fid_every`` (or ``jsd_every``), each generating
  ``fid_num_samples`` images and running the Inception graph on each (its operations counted by
  the profiler on ``inception_path``), or ``jsd_num_batches`` batches of lines (the n-gram
  counting on the host is left out);
* memory: the networks' and both Adam optimizers' variables, plus the larger of the train
  step's and an evaluation's tensors at their peak (``graph_memory.peak_tensor_bytes`` on the
  traced graphs: the train step at the flagfile's batch; the generator at
  ``fid_sample_batch_size`` samples (language: ``batch_size``), and the Inception graph, weights
  included, at ``fid_batch_size`` images). Framework overheads (workspaces, fragmentation) are
  not in it.

The estimate assumes the GPU reaches the same fraction of its peak on this model as this
machine reached of its matmul rate: hours = total operations / (GPU peak × that fraction).
It is an estimate: GPUs keep convolutions busier than CPUs do (so it is likely high), and it
leaves out input pipelines, logging and checkpoints.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from ttur_tf.gan import stack_critic_batches
from ttur_tf.models.registry import model_entry
from ttur_tf.sweep.graph_memory import peak_tensor_bytes
from ttur_tf.training import build_gan
from ttur_tf.training_flags import config_from_flagfile

__all__ = ["RowCost", "graph_flops", "inception_flops", "matmul_flops_per_second",
           "measure_row_cost"]


def graph_flops(graph: tf.Graph) -> float:
    """Float operations the profiler counts in ``graph`` (ops of unknown cost count 0)."""
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return float(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)


def matmul_flops_per_second(size: int = 2048, repeats: int = 5) -> float:
    """This machine's best float32 rate on a ``size``² matmul (2·size³ operations each)."""
    matrix = tf.random.normal([size, size])
    product = tf.function(lambda a: tf.linalg.matmul(a, a))
    product(matrix).numpy()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        product(matrix).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


@functools.lru_cache(maxsize=1)
def _pool3_graph_def(graph_path: Path) -> tf.compat.v1.GraphDef:
    """The graph file's ops up to ``pool_3``, read and parsed once for every row and batch."""
    from ttur_tf.fid.inception import pool3_subgraph, read_graph_def

    return pool3_subgraph(read_graph_def(graph_path))


def _inception_graph(graph_path: str | Path, batch: int, image_size: int) -> tf.Graph:
    """The graph file's ops up to ``pool_3`` imported with an input of ``batch`` images of
    ``image_size``² (the classifier after it costs 2M multiply-adds an image of 5.7G)."""
    from ttur_tf.fid.inception import INPUT_TENSOR, OUTPUT_NODE

    graph = tf.Graph()
    with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, [batch, image_size, image_size, 3])
        tf.compat.v1.import_graph_def(_pool3_graph_def(Path(graph_path)), name="",
                                      input_map={INPUT_TENSOR: images},
                                      return_elements=[f"{OUTPUT_NODE}:0"])
    return graph


def inception_flops(graph_path: str | Path, image_size: int) -> float:
    """Float operations of one ``image_size``² image through the graph to ``pool_3``."""
    return graph_flops(_inception_graph(graph_path, 1, image_size))


@dataclasses.dataclass(frozen=True)
class RowCost:
    """A row's measured costs; ``settings`` maps "ttur"/"orig" to (steps, n_critic,
    evaluations) of its flagfile. Operation counts in FLOPs, times in seconds, memory in bytes."""

    name: str
    generator_flops: float  # one generator update (and its share of the critic's)
    critic_flops: float  # one further critic update
    evaluation_flops: float  # one evaluation: generating (and scoring) its samples
    seconds_per_iteration: float  # here, at n_critic = 1
    machine_flops_per_second: float  # here, float32 matmul
    state_bytes: int  # variables, both optimizers' included
    step_bytes: int  # the train step's tensors at their peak
    evaluation_bytes: int  # an evaluation's tensors at their peak
    settings: dict[str, tuple[int, int, int]]

    def iteration_flops(self, n_critic: int) -> float:
        return self.generator_flops + n_critic * self.critic_flops

    @property
    def utilization(self) -> float:
        """The fraction of this machine's matmul rate one iteration reached."""
        return (self.iteration_flops(1) / self.seconds_per_iteration
                / self.machine_flops_per_second)

    def gpu_hours(self, setting: str, gpu_flops_per_second: float) -> float:
        steps, n_critic, evaluations = self.settings[setting]
        total = steps * self.iteration_flops(n_critic) + evaluations * self.evaluation_flops
        return total / (gpu_flops_per_second * self.utilization) / 3600

    def hours_here(self, setting: str) -> float:
        """The same run on this machine, at its measured rate."""
        return self.gpu_hours(setting, self.machine_flops_per_second)

    @property
    def memory_bytes(self) -> int:
        return self.state_bytes + max(self.step_bytes, self.evaluation_bytes)


def _is_text(config) -> bool:
    return model_entry(config.model).data == "text"


def _data(config, input_size: int, batch: int) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    if _is_text(config):
        rows = tf.one_hot(rng.integers(0, input_size, (2 * batch, config.seq_len)), input_size)
    else:
        rows = rng.uniform(-1, 1, (2 * batch, input_size, input_size, 3)).astype(np.float32)
    batches = tf.data.Dataset.from_tensor_slices(rows).batch(batch, drop_remainder=True)
    return stack_critic_batches(batches.cache().repeat(), config.n_critic)


def _config(flagfile: Path, overrides: dict):
    config = config_from_flagfile(flagfile, logdir="unused", dataset="unused", **overrides)
    return config.resolved()


def _input_size(config) -> int:
    return config.max_vocab_size if _is_text(config) else config.image_size


def _gan(config):
    if _is_text(config):
        return build_gan(config, vocab_size=config.max_vocab_size)
    return build_gan(config, image_size=config.image_size)


def _train_step_graph(gan, config) -> tf.Graph:
    element = _data(config, _input_size(config), config.batch_size).element_spec
    return tf.function(gan.train_step).get_concrete_function(element).graph


def _generator_graph(gan, batch: int) -> tf.Graph:
    """The generator's sampling (as evaluations run it) traced for ``batch`` inputs."""
    noise = tf.TensorSpec([batch, gan.noise_dim], tf.float32)
    inputs = [noise, tf.TensorSpec([batch], tf.int32)] if gan.num_classes else noise
    return gan._generate.get_concrete_function(inputs, False).graph


def _variable_bytes(gan) -> int:
    variables = {id(v): v for v in [*gan.variables, *gan.d_optimizer.variables,
                                    *gan.g_optimizer.variables]}
    return sum(int(np.prod(v.shape)) * tf.as_dtype(v.dtype).size for v in variables.values())


def _evaluations(config) -> int:
    every = config.jsd_every if _is_text(config) else config.fid_every
    return config.steps // every if every else 0


def measure_row_cost(name: str, flagfiles: dict[str, Path], inception_path: str | Path | None,
                     iterations: int = 2, overrides: dict | None = None,
                     machine_flops_per_second: float | None = None) -> RowCost:
    """Measures the row whose settings' flagfiles are ``flagfiles`` ("ttur", "orig"), with
    ``overrides`` (flag name: value) applied to both; ``inception_path`` (image rows): the graph
    whose operations an evaluation runs per sample."""
    overrides = dict(overrides or {})
    config = _config(flagfiles["ttur"], {**overrides, "n_critic": 1})
    gan = _gan(config)
    two_critic_updates = _config(flagfiles["ttur"], {**overrides, "n_critic": 2})
    step_graph = _train_step_graph(gan, config)
    one = graph_flops(step_graph)
    two = graph_flops(_train_step_graph(_gan(two_critic_updates), two_critic_updates))
    step_bytes = peak_tensor_bytes(step_graph)
    data = _data(config, _input_size(config), config.batch_size)
    gan.fit(data, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)  # tracing: not timed
    start = time.perf_counter()
    gan.fit(data, epochs=1, steps_per_epoch=iterations, verbose=0, shuffle=False)
    seconds = (time.perf_counter() - start) / iterations
    per_sample = graph_flops(_generator_graph(gan, 1))
    if _is_text(config):
        samples = config.jsd_num_batches * config.batch_size
        evaluation_bytes = peak_tensor_bytes(_generator_graph(gan, config.batch_size))
    else:
        if inception_path is None:
            raise ValueError(f"{name}: an image row needs the Inception graph (inception_path)")
        samples = config.fid_num_samples
        per_sample += inception_flops(inception_path, config.image_size)
        evaluation_bytes = max(
            peak_tensor_bytes(_generator_graph(gan, config.fid_sample_batch_size)),
            peak_tensor_bytes(_inception_graph(inception_path, config.fid_batch_size,
                                               config.image_size)))
    settings = {}
    for setting, flagfile in flagfiles.items():
        setting_config = _config(flagfile, overrides)
        settings[setting] = (setting_config.steps, setting_config.n_critic,
                             _evaluations(setting_config))
    return RowCost(
        name=name, generator_flops=2 * one - two, critic_flops=two - one,
        evaluation_flops=per_sample * samples,
        seconds_per_iteration=seconds,
        machine_flops_per_second=machine_flops_per_second or matmul_flops_per_second(),
        state_bytes=_variable_bytes(gan), step_bytes=step_bytes,
        evaluation_bytes=evaluation_bytes, settings=settings)
