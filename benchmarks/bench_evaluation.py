"""A training run's evaluation at the paper's size: generating and scoring samples with the
WGAN-GP ResNet at 64×64 (dim 64) through the full-size costs-only Inception graph.

    python benchmarks/bench_evaluation.py [--num_samples=50000] [--metrics=fid,kid,is,pr]

What ``ImageMetricsEvaluator`` runs every ``--fid_every`` steps, without the callback around it,
in one fresh process: ``generated_features`` (samples in calls of ``--fid_sample_batch_size``, the
graph in batches of ``--fid_batch_size``; the seconds inside the graph counted apart), then each
metric of ``image_scores`` on what was collected, timed one by one, against a reference of as
many real-image features (random features here: the metrics' arithmetic costs the same).

The samples are generated and scored once for every metric: ``--metrics=fid`` alone is that pass
plus FID's own seconds, the full set that pass plus every metric's. The pass keeps the features
and logits the other metrics need (0.6 GiB at 50,000: list appends, no measurable time), so the
peak printed for FID alone is an upper bound; the generator's call dominates it either way.

The graph (``ttur_tf.fid.fullsize``: Keras's Inception-v3 with random weights behind the 2015
graph's interface) gives meaningless scores and the real network's cost; it is built into
``~/.cache/ttur_tf`` once. On this project's 2-core CPU, 50,000 samples took 68 minutes for FID
alone and 80 with all four metrics (README); progress goes to stderr. With ``--num_samples``
below 50,000 the time at 50,000 is extrapolated from the rate and labelled so.
"""

import json
import sys
import time

import numpy as np
from absl import app, flags
from fresh_process import measure_in_fresh_process, peak_rss_mib, report

flags.DEFINE_integer("num_samples", 50_000, "Samples generated and scored per evaluation.")
flags.DEFINE_list("metrics", ["fid", "kid", "is", "pr"],
                  "The metrics timed on the one pass (fid first: it is the baseline).")
flags.DEFINE_integer("sample_batch_size", 1000, "--fid_sample_batch_size.")
flags.DEFINE_integer("inception_batch_size", 50, "--fid_batch_size.")
flags.DEFINE_string("graph", "", "The graph (default: the full-size costs-only graph).")
flags.DEFINE_string("worker", None, "Internal: JSON job for a measuring subprocess.")
FLAGS = flags.FLAGS

_PAPER_RUN = 50_000


class _TimedFeatures:
    """An ``InceptionFeatures`` whose calls are timed (seconds inside the graph), with a progress
    line on stderr every ``every`` images."""

    def __init__(self, features, total: int, every: int = 5000):
        self._features, self._total, self._every = features, total, every
        self.seconds, self.images = 0.0, 0
        self._start = time.perf_counter()

    def _timed(self, method, images):
        start = time.perf_counter()
        result = method(images)
        self.seconds += time.perf_counter() - start
        before, self.images = self.images, self.images + len(images)
        if self.images // self._every > before // self._every:
            print(f"  {self.images}/{self._total} samples after "
                  f"{time.perf_counter() - self._start:.0f} s, peak RSS {peak_rss_mib():.0f} MiB",
                  file=sys.stderr, flush=True)
        return result

    def __call__(self, images):
        return self._timed(self._features, images)

    def features_and_logits(self, images):
        return self._timed(self._features.features_and_logits, images)


def _reference(count: int, keep_features: bool, dim: int = 2048):
    """Random "real" features as a training run loads them: (count, dim) float32 kept for KID and
    precision/recall, moments accumulated in float64 blocks (no (count, dim) float64 copy)."""
    from ttur_tf.fid.moments import RunningMoments
    from ttur_tf.fid.stats import Statistics

    real = np.random.default_rng(1).normal(size=(count, dim)).astype(np.float32)
    moments = RunningMoments(dim)
    for start in range(0, count, 1000):
        moments.update(real[start:start + 1000])
    return Statistics(moments.mean, moments.covariance, count,
                      features=real if keep_features else None)


def measure(job):
    from ttur_tf.config import TrainConfig
    from ttur_tf.fid import InceptionFeatures
    from ttur_tf.metrics.image_metrics import image_scores, parse_metrics
    from ttur_tf.sample_statistics import generated_features
    from ttur_tf.training import build_gan

    metrics = parse_metrics(job["metrics"])
    gan = build_gan(TrainConfig("unused", "unused", model="resnet", dim=64), image_size=64)
    count = job["num_samples"]
    features = _TimedFeatures(InceptionFeatures(job["graph"], download=False), count)
    reference = _reference(count, keep_features=bool(set(metrics) & {"kid", "pr"}))
    # Traced outside the timing, at the timed calls' batch size (another size traces again).
    gan.generate(gan.numpy_inputs(np.random.default_rng(2), job["sample_batch_size"]))
    start = time.perf_counter()
    collector = generated_features(gan, features, count, job["sample_batch_size"],
                                   job["inception_batch_size"], np.random.default_rng(0),
                                   metrics=metrics)
    result = {"pass_seconds": time.perf_counter() - start, "graph_seconds": features.seconds,
              "pass_peak_mib": peak_rss_mib(), "metric_seconds": {}, "metric_peak_mib": {}}
    start = time.perf_counter()
    generated = collector.statistics()
    result["statistics_seconds"] = time.perf_counter() - start
    for metric in metrics:
        start = time.perf_counter()
        image_scores([metric], generated, reference, collector.logits)
        result["metric_seconds"][metric] = time.perf_counter() - start
        result["metric_peak_mib"][metric] = peak_rss_mib()
    report(**result)


def _graph() -> str:
    from ttur_tf.fid.fullsize import cached_fullsize_graph

    return FLAGS.graph or str(cached_fullsize_graph())


def _line(name: str, seconds: float, peak_mib: float, peak_label: str = "") -> str:
    rate = FLAGS.num_samples / seconds
    line = (f"--metrics={name:<14} {seconds:8.1f} s ({seconds / 60:5.1f} min)  "
            f"{rate:6.2f} samples/s  peak RSS {peak_label}{peak_mib:.0f} MiB")
    if FLAGS.num_samples < _PAPER_RUN:
        line += f"  (at {_PAPER_RUN:,}, extrapolated: {_PAPER_RUN / rate / 60:.0f} min)"
    return line


def main(argv):
    del argv
    if FLAGS.worker:
        measure(json.loads(FLAGS.worker))
        return
    if FLAGS.metrics[0] != "fid":
        raise app.UsageError("--metrics must start with fid: FID alone is the baseline line")
    graph = _graph()
    print(f"{FLAGS.num_samples} samples of the WGAN-GP ResNet 64x64 (dim 64), generated "
          f"{FLAGS.sample_batch_size} per call, scored {FLAGS.inception_batch_size} per graph "
          f"call; graph {graph} (costs only: its scores mean nothing)", flush=True)
    result = measure_in_fresh_process(
        __file__, show_stderr=True, metrics=",".join(FLAGS.metrics), graph=graph,
        num_samples=FLAGS.num_samples, sample_batch_size=FLAGS.sample_batch_size,
        inception_batch_size=FLAGS.inception_batch_size)
    pass_seconds = result["pass_seconds"]
    print(f"one pass: {pass_seconds:.1f} s, of which {result['graph_seconds']:.1f} s in the "
          f"Inception graph and {pass_seconds - result['graph_seconds']:.1f} s generating; "
          f"peak RSS {result['pass_peak_mib']:.0f} MiB")
    seconds = {metric: result["statistics_seconds"] + spent if metric == "fid" else spent
               for metric, spent in result["metric_seconds"].items()}
    print("each metric on the collected set: " + ", ".join(
        f"{metric} {spent:.1f} s" for metric, spent in seconds.items()))
    print(_line("fid", pass_seconds + seconds["fid"], result["metric_peak_mib"]["fid"],
                "at most " if len(FLAGS.metrics) > 1 else ""))
    if len(FLAGS.metrics) > 1:
        print(_line(",".join(FLAGS.metrics), pass_seconds + sum(seconds.values()),
                    result["metric_peak_mib"][FLAGS.metrics[-1]]))


if __name__ == "__main__":
    app.run(main)
