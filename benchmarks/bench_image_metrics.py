"""Image metrics: FID alone vs FID, KID, IS and precision/recall in one pass; the cost of KID
and of precision/recall at the sizes a training run's evaluation reaches.

    python benchmarks/bench_image_metrics.py [--num_images=2000] [--kid_sizes=10000,50000] \
        [--pr_sizes=10000,50000]

1. On the stand-in graph, images/s of a pass over ``num_images`` 32×32 images (generated and
   reference sets) computing fid alone, then all four metrics from the same pass (features,
   logits and the metrics' own arithmetic included), and the ratio.
2. KID (100 subsets of 1,000, as the reference code) of random 2048-d features at each of
   ``kid_sizes`` per side, each in a fresh process: seconds and peak RSS.
3. Improved precision and recall (k = 3, float64 distances in blocks of 1,000 rows) of random
   2048-d features at each of ``pr_sizes`` per side, each in a fresh process: seconds and peak
   RSS (the features themselves included: N × 2048 float32 per side).
"""

import json
import tempfile
import time

import numpy as np
from absl import app, flags
from fresh_process import measure_in_fresh_process, report

flags.DEFINE_integer("num_images", 2000, "Images per set for the one-pass comparison.")
flags.DEFINE_list("kid_sizes", ["10000", "50000"], "Features per side for KID's cost.")
flags.DEFINE_list("pr_sizes", ["10000", "50000"],
                  "Features per side for precision and recall's cost.")
flags.DEFINE_string("worker", None, "Internal: JSON job for a measuring subprocess.")
FLAGS = flags.FLAGS


def measure(job):
    from ttur_tf.metrics.kid import kernel_inception_distance
    from ttur_tf.metrics.precision_recall import precision_recall

    rng = np.random.default_rng(0)
    size = job["size"]
    generated = rng.normal(0.3, 1.0, (size, 2048)).astype(np.float32)
    real = rng.normal(0.0, 1.0, (size, 2048)).astype(np.float32)
    start = time.perf_counter()
    if job["metric"] == "kid":
        kernel_inception_distance(generated, real)
    else:
        precision_recall(real, generated)
    report(seconds=time.perf_counter() - start)


def images_per_second(features, generated, real, metrics) -> float:
    from ttur_tf.metrics.image_metrics import collect_features, image_scores, parse_metrics

    metrics = parse_metrics(metrics)
    batches = lambda images: (images[i:i + 50] for i in range(0, len(images), 50))  # noqa: E731
    start = time.perf_counter()
    judged, _ = collect_features(batches(generated), features, metrics)
    reference, _ = collect_features(batches(real), features, tuple(m for m in metrics if m != "is") or ("fid",))
    image_scores(metrics, judged.statistics(), reference.statistics(), judged.logits)
    return 2 * len(generated) / (time.perf_counter() - start)


def main(argv):
    del argv
    if FLAGS.worker:
        measure(json.loads(FLAGS.worker))
        return
    import warnings

    from ttur_tf.fid import InceptionFeatures
    from ttur_tf.fid.standin import write_standin_graph

    warnings.simplefilter("ignore")
    features = InceptionFeatures(write_standin_graph(tempfile.mkdtemp()), download=False)
    rng = np.random.default_rng(0)
    generated = rng.integers(0, 256, (FLAGS.num_images, 32, 32, 3), np.uint8)
    real = rng.integers(0, 256, (FLAGS.num_images, 32, 32, 3), np.uint8)
    features.features_and_logits(generated[:50])  # trace both functions outside the timing
    features(generated[:50])
    alone = images_per_second(features, generated, real, "fid")
    together = images_per_second(features, generated, real, "fid,kid,is,pr")
    print(f"{FLAGS.num_images} + {FLAGS.num_images} images, stand-in graph, batch 50")
    print(f"fid alone:                   {alone:.1f} images/s")
    print(f"fid,kid,is,pr in one pass:   {together:.1f} images/s")
    print(f"one pass of all / fid alone: {together / alone:.2f}x")
    for size in map(int, FLAGS.kid_sizes):
        result = measure_in_fresh_process(__file__, metric="kid", size=size)
        print(f"KID, {size} features per side (100 subsets of 1,000): {result['seconds']:.1f} s, "
              f"peak RSS {result['peak_mib']:.0f} MiB", flush=True)
    for size in map(int, FLAGS.pr_sizes):
        result = measure_in_fresh_process(__file__, metric="pr", size=size)
        print(f"precision/recall, {size} features per side (k = 3): {result['seconds']:.1f} s, "
              f"peak RSS {result['peak_mib']:.0f} MiB", flush=True)


if __name__ == "__main__":
    app.run(main)
