"""FID statistics of a folder with the full-size costs-only Inception graph: ours against the
original ``fid.py`` on the same graph and images, in the same run.

    TTUR_ORIGINAL_DIR=/path/to/bioinf-jku/TTUR python benchmarks/bench_fid_vs_original.py \
        [--num_images=10000] [--batch_sizes=1,50,200] [--image_size=64]

The graph is built once into ``~/.cache/ttur_tf/`` (``ttur_tf.fid.fullsize``: the 2015 graph's
interface around Keras's Inception-v3 with random weights; its scores are meaningless, its
costs are the real network's). Each measurement runs in a fresh process (its peak RSS is its
own), from the folder of PNGs to (mu, sigma):

* ours: ``compute_statistics(folder, InceptionFeatures(graph), batch_size)``;
* original: its ``fid.py`` as its own command line runs it: every image decoded into one float32
  array, then ``calculate_activation_statistics(images, sess, batch_size)`` in a TF1 session.
  The original is not part of this project: clone https://github.com/bioinf-jku/TTUR and point
  ``TTUR_ORIGINAL_DIR`` at it (without it only ours is measured). Its ``imageio`` import is
  served by Pillow when imageio is not installed.

Prints images/s and peak RSS per batch size, and ours / original. The original's batching
patches the Python-side shape of every tensor (``o.__dict__['_shape_val']``); where TensorFlow
no longer honours that (2.21: "Cannot feed value of shape (50, ...) for Tensor
FID_Inception_Net/ExpandDims:0, which has shape (1, None, None, 3)"), its line says so.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
from absl import app, flags
from fresh_process import measure_in_fresh_process, report

flags.DEFINE_integer("num_images", 10_000, "Images in the folder.")
flags.DEFINE_list("batch_sizes", ["1", "50", "200"], "Batch sizes to measure.")
flags.DEFINE_integer("image_size", 64, "Side of the square PNGs (resized to 299 in the graph).")
flags.DEFINE_string("graph", "", "The graph to use (default: the full-size costs-only graph, "
                    "built into ~/.cache/ttur_tf if absent).")
flags.DEFINE_string("worker", None, "Internal: JSON job for a measuring subprocess.")
FLAGS = flags.FLAGS


def _png_files(folder: str) -> list[Path]:
    return sorted(Path(folder).glob("*.png"))


def _original_fid_module(checkout: str):
    """The original's fid.py, imported from its checkout (imageio's imread served by Pillow if
    imageio is absent)."""
    try:
        import imageio  # noqa: F401
    except ImportError:
        from PIL import Image

        sys.modules["imageio"] = types.SimpleNamespace(
            imread=lambda path: np.asarray(Image.open(path).convert("RGB")))
    sys.path.insert(0, checkout)
    import fid as original_fid

    return original_fid


def measure(job):
    if job["implementation"] == "ours":
        from ttur_tf.fid import InceptionFeatures, compute_statistics

        features = InceptionFeatures(job["graph"], download=False)
        features(np.zeros((1, 32, 32, 3), np.uint8))  # trace once, outside the timing
        start = time.perf_counter()
        statistics = compute_statistics(job["folder"], features, batch_size=job["batch_size"])
        report(images=statistics.num_images, seconds=time.perf_counter() - start)
        return
    import tensorflow as tf

    original_fid = _original_fid_module(job["checkout"])
    tf.compat.v1.disable_eager_execution()
    original_fid.create_inception_graph(job["graph"])
    with tf.compat.v1.Session() as session:
        warm = np.zeros((1, 32, 32, 3), np.float32)
        original_fid.calculate_activation_statistics(warm, session, batch_size=1)
        start = time.perf_counter()
        images = np.array([original_fid.imread(str(path)).astype(np.float32)
                           for path in _png_files(job["folder"])])
        mu, _ = original_fid.calculate_activation_statistics(images, session, job["batch_size"])
        report(images=len(images), seconds=time.perf_counter() - start, dimension=int(mu.size))


def write_folder(folder: Path, count: int, size: int, rng) -> Path:
    import tensorflow as tf

    folder.mkdir(parents=True)
    for index in range(count):
        image = rng.integers(0, 256, (size, size, 3), np.uint8)
        tf.io.write_file(str(folder / f"{index:06d}.png"), tf.io.encode_png(image))
    return folder


def _graph() -> str:
    from ttur_tf.fid.fullsize import cached_fullsize_graph

    return FLAGS.graph or str(cached_fullsize_graph())


def main(argv):
    del argv
    if FLAGS.worker:
        measure(json.loads(FLAGS.worker))
        return
    graph = _graph()
    checkout = os.environ.get("TTUR_ORIGINAL_DIR", "")
    if not (checkout and (Path(checkout) / "fid.py").is_file()):
        print("TTUR_ORIGINAL_DIR does not point at a bioinf-jku/TTUR checkout: measuring ours only")
        checkout = ""
    root = Path(tempfile.mkdtemp(prefix="bench_fid_vs_original_"))
    folder = str(write_folder(root / "images", FLAGS.num_images, FLAGS.image_size,
                              np.random.default_rng(0)))
    print(f"{FLAGS.num_images} random {FLAGS.image_size}×{FLAGS.image_size} PNGs, graph {graph} "
          "(costs only: its FIDs mean nothing)")
    print(f"{'batch':>5}  {'ours img/s':>10} {'ours MiB':>9}  {'orig img/s':>10} {'orig MiB':>9}  "
          f"{'speed':>6} {'memory':>6}")
    best_original = None  # (rate, batch size, peak MiB) of the fastest batch size the original ran
    for size in map(int, FLAGS.batch_sizes):
        ours = measure_in_fresh_process(__file__, implementation="ours", graph=graph,
                                        folder=folder, batch_size=size)
        line = f"{size:5d}  {ours['images'] / ours['seconds']:10.2f} {ours['peak_mib']:9.0f}"
        if checkout:
            try:
                original = measure_in_fresh_process(__file__, implementation="original",
                                                    graph=graph, folder=folder, batch_size=size,
                                                    checkout=checkout)
            except subprocess.CalledProcessError as error:  # e.g. its batching on this TF
                print(f"{line}  original fails: {error.stderr.strip().splitlines()[-1]}",
                      flush=True)
                if best_original:
                    rate, batch, peak = best_original
                    print(f"{'':5s}  ours / the original at batch {batch} (its fastest that "
                          f"runs): speed {ours['images'] / ours['seconds'] / rate:.2f}×, "
                          f"memory {ours['peak_mib'] / peak:.2f}×", flush=True)
                continue
            rate = original["images"] / original["seconds"]
            best_original = max(best_original or (0.0, 0, 0.0), (rate, size, original["peak_mib"]))
            speed = (ours["images"] / ours["seconds"]) / rate
            line += (f"  {original['images'] / original['seconds']:10.2f} "
                     f"{original['peak_mib']:9.0f}  {speed:5.2f}× "
                     f"{ours['peak_mib'] / original['peak_mib']:5.2f}×")
        print(line, flush=True)


if __name__ == "__main__":
    app.run(main)
