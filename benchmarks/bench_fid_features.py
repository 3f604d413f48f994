"""Throughput and peak memory of FID statistics from a folder, stand-in Inception graph.

    python benchmarks/bench_fid_features.py [--num_images=10000] [--batch_size=50]

Writes a folder of 32×32 PNGs and measures, each in a fresh process (so peak RSS is its own):
batch size 1 vs the default batch on all images, and the default batch on a fifth of them. Memory
must not grow with the number of images (streaming), and batching must be faster.
"""

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from absl import app, flags
from fresh_process import measure_in_fresh_process, report

flags.DEFINE_integer("num_images", 10_000, "Images in the folder.")
flags.DEFINE_integer("batch_size", 50, "The default batch size to compare with batch size 1.")
flags.DEFINE_string("worker", None, "Internal: JSON job for a measuring subprocess.")
FLAGS = flags.FLAGS


def measure(job):
    from ttur_tf.fid import InceptionFeatures, compute_statistics

    features = InceptionFeatures(job["graph"], download=False)
    features(np.zeros((1, 32, 32, 3), np.uint8))  # trace once, outside the timing
    start = time.perf_counter()
    statistics = compute_statistics(job["folder"], features, batch_size=job["batch_size"])
    report(images=statistics.num_images, seconds=time.perf_counter() - start)


def write_folder(folder: Path, count: int, rng) -> Path:
    folder.mkdir(parents=True)
    for index in range(count):
        image = rng.integers(0, 256, (32, 32, 3), np.uint8)
        tf.io.write_file(str(folder / f"{index:06d}.png"), tf.io.encode_png(image))
    return folder


def main(argv):
    del argv
    if FLAGS.worker:
        measure(json.loads(FLAGS.worker))
        return
    from ttur_tf.fid.standin import write_standin_graph

    root = Path(tempfile.mkdtemp(prefix="bench_fid_"))
    graph = str(write_standin_graph(root / "graph"))
    rng = np.random.default_rng(0)
    full = str(write_folder(root / "full", FLAGS.num_images, rng))
    fifth = str(write_folder(root / "fifth", FLAGS.num_images // 5, rng))
    jobs = {
        "batch 1": dict(folder=full, batch_size=1),
        f"batch {FLAGS.batch_size}": dict(folder=full, batch_size=FLAGS.batch_size),
        f"batch {FLAGS.batch_size}, N/5": dict(folder=fifth, batch_size=FLAGS.batch_size),
    }
    results = {name: measure_in_fresh_process(__file__, graph=graph, **job)
               for name, job in jobs.items()}
    for name, result in results.items():
        rate = result["images"] / result["seconds"]
        print(f"{name:>14}: {result['images']} images, {rate:.1f} images/s, peak RSS {result['peak_mib']:.0f} MiB")
    one, batched, small = results.values()
    speedup = (batched["images"] / batched["seconds"]) / (one["images"] / one["seconds"])
    print(f"throughput batch {FLAGS.batch_size} / batch 1: {speedup:.2f}x")
    print(
        f"peak RSS N={FLAGS.num_images} / N={FLAGS.num_images // 5} at batch {FLAGS.batch_size}: "
        f"{batched['peak_mib'] / small['peak_mib']:.2f} (1.00 = bounded, independent of N)"
    )


if __name__ == "__main__":
    app.run(main)
