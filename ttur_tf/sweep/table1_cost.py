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
* memory: the networks' and both Adam optimizers' variables, plus the growth of the peak
  resident set over the measured iterations (this machine's allocator: a proxy of the
  accelerator's activation memory).

The estimate assumes the GPU reaches the same fraction of its peak on this model as this
machine reached of its matmul rate: hours = total operations / (GPU peak × that fraction).
It is an estimate: GPUs keep convolutions busier than CPUs do (so it is likely high), and it
leaves out input pipelines, logging and checkpoints.
"""

from __future__ import annotations

import dataclasses
import resource
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from ttur_tf.gan import stack_critic_batches
from ttur_tf.models.registry import model_entry
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


def inception_flops(graph_path: str | Path, image_size: int) -> float:
    """Float operations of one ``image_size``² image through the graph to ``pool_3``."""
    from ttur_tf.fid.inception import INPUT_TENSOR, OUTPUT_NODE, read_graph_def

    graph = tf.Graph()
    with graph.as_default():
        image = tf.compat.v1.placeholder(tf.float32, [1, image_size, image_size, 3])
        tf.compat.v1.import_graph_def(read_graph_def(graph_path), name="",
                                      input_map={INPUT_TENSOR: image},
                                      return_elements=[f"{OUTPUT_NODE}:0"])
    return graph_flops(graph)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _reset_peak_rss() -> bool:
    """Resets the kernel's peak-RSS mark of this process (Linux); False where it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


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
    state_bytes: int
    step_bytes: int
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
        return self.state_bytes + self.step_bytes


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


def _train_step_flops(gan, config) -> float:
    element = _data(config, _input_size(config), config.batch_size).element_spec
    return graph_flops(tf.function(gan.train_step).get_concrete_function(element).graph)


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
    one = _train_step_flops(gan, config)
    two = _train_step_flops(_gan(two_critic_updates), two_critic_updates)
    data = _data(config, _input_size(config), config.batch_size)
    gan.fit(data, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)  # tracing: not timed
    baseline = _rss_bytes()
    resettable = _reset_peak_rss()
    start = time.perf_counter()
    gan.fit(data, epochs=1, steps_per_epoch=iterations, verbose=0, shuffle=False)
    seconds = (time.perf_counter() - start) / iterations
    step_bytes = max(0, _peak_rss_bytes() - baseline) if resettable else 0
    noise = tf.TensorSpec([1, gan.noise_dim], tf.float32)
    per_sample = graph_flops(tf.function(gan.generator).get_concrete_function(noise).graph)
    samples = config.fid_num_samples
    if _is_text(config):
        samples = config.jsd_num_batches * config.batch_size
    else:
        if inception_path is None:
            raise ValueError(f"{name}: an image row needs the Inception graph (inception_path)")
        per_sample += inception_flops(inception_path, config.image_size)
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
        state_bytes=_variable_bytes(gan), step_bytes=step_bytes, settings=settings)
