"""Throughput and peak memory of FID statistics from a folder, stand-in Inception graph.

    python benchmarks/bench_fid_features.py [--num_images=10000] [--batch_sizes=1,50,200]

Writes a folder of 32×32 PNGs and measures, each in a fresh process (so peak RSS is its own):
every batch size on all images, the middle one on a fifth of them, and the first with the float64
moments updated at every batch instead of every 512 rows. Memory must not grow with
the number of images (streaming), and batching must be faster; the peak's growth per image of a
batch is what a larger ``--batch_size`` / ``--fid_batch_size`` costs (with the stand-in graph,
whose activations are smaller than the real graph's).
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
flags.DEFINE_list("batch_sizes", ["1", "50", "200"], "Batch sizes to compare (the first is the "
                  "reference).")
flags.DEFINE_string("worker", None, "Internal: JSON job for a measuring subprocess.")
FLAGS = flags.FLAGS


def measure(job):
    from ttur_tf.fid import InceptionFeatures, RunningMoments, compute_statistics

    if job.get("flush_rows"):  # the moments updated every flush_rows rows (1: once per batch)
        RunningMoments.__init__.__defaults__ = (job["flush_rows"],)

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
    sizes = [int(size) for size in FLAGS.batch_sizes]
    middle = sizes[len(sizes) // 2]
    jobs = {f"batch {size}": dict(folder=full, batch_size=size) for size in sizes}
    jobs[f"batch {middle}, N/5"] = dict(folder=fifth, batch_size=middle)
    jobs[f"batch {sizes[0]}, unbuffered"] = dict(folder=full, batch_size=sizes[0], flush_rows=1)
    results = {name: measure_in_fresh_process(__file__, graph=graph, **job)
               for name, job in jobs.items()}
    for name, result in results.items():
        rate = result["images"] / result["seconds"]
        print(f"{name:>14}: {result['images']} images, {rate:.1f} images/s, peak RSS {result['peak_mib']:.0f} MiB")
    rate = {name: result["images"] / result["seconds"] for name, result in results.items()}
    first = f"batch {sizes[0]}"
    for size in sizes[1:]:
        print(f"throughput batch {size} / batch {sizes[0]}: {rate[f'batch {size}'] / rate[first]:.2f}x")
    unbuffered = rate[f"batch {sizes[0]}, unbuffered"]
    print(f"batch {sizes[0]}, moments buffered (512 rows) / updated per batch: "
          f"{rate[first] / unbuffered:.2f}x")
    last = f"batch {sizes[-1]}"
    growth = (results[last]["peak_mib"] - results[first]["peak_mib"]) / (sizes[-1] - sizes[0])
    print(f"peak RSS per image of a batch (batch {sizes[0]} → {sizes[-1]}): {growth:.2f} MiB")
    print(
        f"peak RSS N={FLAGS.num_images} / N={FLAGS.num_images // 5} at batch {middle}: "
        f"{results[f'batch {middle}']['peak_mib'] / results[f'batch {middle}, N/5']['peak_mib']:.2f}"
        " (1.00 = bounded, independent of N)"
    )


if __name__ == "__main__":
    app.run(main)
