"""A training run's evaluation at the paper's size: generating and scoring samples with the
WGAN-GP ResNet at 64×64 (dim 64) through the full-size costs-only Inception graph.

    python benchmarks/bench_evaluation.py [--num_samples=50000] [--metrics_sets=fid,fid+kid+is+pr]

What ``ImageMetricsEvaluator`` runs every ``--fid_every`` steps, without the callback around it:
``generated_features`` (samples in calls of ``--fid_sample_batch_size``, the graph in batches of
``--fid_batch_size``), then ``image_scores`` against a reference of as many real-image features
(random features here: the metrics' arithmetic costs the same). Each metric set runs in a fresh
process: seconds, samples/s and peak RSS. The graph (``ttur_tf.fid.fullsize``: Keras's
Inception-v3 with random weights behind the 2015 graph's interface) gives meaningless scores and
the real network's cost; it is built into ``~/.cache/ttur_tf`` once.

On a CPU, 50,000 samples take about an hour per metric set: ``--num_samples`` smaller gives the
rate, and the line "at 50,000" is that rate applied to 50,000 samples, labelled an
extrapolation (the metrics' own cost at 50,000 features is measured by bench_image_metrics.py).
"""

import json
import time

import numpy as np
from absl import app, flags
from fresh_process import measure_in_fresh_process, report

flags.DEFINE_integer("num_samples", 50_000, "Samples generated and scored per evaluation.")
flags.DEFINE_list("metrics_sets", ["fid", "fid+kid+is+pr"],
                  "Metric sets to time, each as --metrics would take it with '+' for ','.")
flags.DEFINE_integer("sample_batch_size", 1000, "--fid_sample_batch_size.")
flags.DEFINE_integer("inception_batch_size", 50, "--fid_batch_size.")
flags.DEFINE_string("graph", "", "The graph (default: the full-size costs-only graph).")
flags.DEFINE_string("worker", None, "Internal: JSON job for a measuring subprocess.")
FLAGS = flags.FLAGS

_PAPER_RUN = 50_000


def measure(job):
    from ttur_tf.config import TrainConfig
    from ttur_tf.fid import InceptionFeatures
    from ttur_tf.fid.stats import Statistics
    from ttur_tf.metrics.image_metrics import image_scores, parse_metrics
    from ttur_tf.sample_statistics import generated_features
    from ttur_tf.training import build_gan

    metrics = parse_metrics(job["metrics"])
    gan = build_gan(TrainConfig("unused", "unused", model="resnet", dim=64), image_size=64)
    features = InceptionFeatures(job["graph"], download=False)
    count = job["num_samples"]
    real = np.random.default_rng(1).normal(size=(count, 2048)).astype(np.float32)
    reference = Statistics(real.mean(0).astype(np.float64), np.cov(real, rowvar=False), count,
                           features=real if set(metrics) & {"kid", "pr"} else None)
    gan.generate(gan.numpy_inputs(np.random.default_rng(2), 2))  # trace outside the timing
    start = time.perf_counter()
    collector = generated_features(gan, features, count, job["sample_batch_size"],
                                   job["inception_batch_size"], np.random.default_rng(0),
                                   metrics=metrics)
    scores = image_scores(metrics, collector.statistics(), reference, collector.logits)
    report(seconds=time.perf_counter() - start, scores=sorted(scores))


def _graph() -> str:
    from ttur_tf.fid.fullsize import cached_fullsize_graph

    return FLAGS.graph or str(cached_fullsize_graph())


def main(argv):
    del argv
    if FLAGS.worker:
        measure(json.loads(FLAGS.worker))
        return
    graph = _graph()
    print(f"{FLAGS.num_samples} samples of the WGAN-GP ResNet 64x64 (dim 64), generated "
          f"{FLAGS.sample_batch_size} per call, scored {FLAGS.inception_batch_size} per graph "
          f"call; graph {graph} (costs only: its scores mean nothing)")
    for metrics in FLAGS.metrics_sets:
        metrics = metrics.replace("+", ",")
        result = measure_in_fresh_process(
            __file__, metrics=metrics, graph=graph, num_samples=FLAGS.num_samples,
            sample_batch_size=FLAGS.sample_batch_size,
            inception_batch_size=FLAGS.inception_batch_size)
        rate = FLAGS.num_samples / result["seconds"]
        line = (f"--metrics={metrics:<14} {result['seconds']:8.1f} s  {rate:6.2f} samples/s  "
                f"peak RSS {result['peak_mib']:.0f} MiB")
        if FLAGS.num_samples < _PAPER_RUN:
            line += f"  (at {_PAPER_RUN:,}, extrapolated: {_PAPER_RUN / rate / 60:.0f} min)"
        print(line, flush=True)


if __name__ == "__main__":
    app.run(main)
