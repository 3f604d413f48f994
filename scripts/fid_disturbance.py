"""The paper's FID disturbance study (Figure 3, Appendix A1): FID of disturbed real images.

    python scripts/fid_disturbance.py --data=tfds:celeb_a --other=path/to/imagenet_sample \
        [--stats=fid_stats_celeba.npz] [--num_images=10000] [--types=swirl,gaussian_blur] \
        [--inception_path=…] [--out_dir=fid_disturbance]

Loads --num_images real images (folder, .npz or tfds source, squared and resized like the training
pipeline), applies each disturbance of ttur_tf.fid.disturbances at its four levels, and computes
the FID of each disturbed set against the real statistics (--stats, e.g. the original's published
file, or else the statistics of the undisturbed images, so that level 0 gives FID 0). Writes
``fid_disturbance.csv`` (disturbance, level, fid) and, with matplotlib, ``fid_disturbance.png``
(FID against level per disturbance). The paper expects FID to grow with every disturbance level.
``contamination`` mixes in images of --other (the paper: ImageNet images); leave it out of
--types if you have none.
"""

from pathlib import Path

import numpy as np
from absl import app, flags, logging

from ttur_tf import cli, plots
from ttur_tf.data import images as image_data
from ttur_tf.fid import InceptionFeatures, compute_statistics, frechet_distance, load_statistics
from ttur_tf.fid.disturbances import DISTURBANCES, LEVELS
from ttur_tf.files import write_bytes_atomically

flags.DEFINE_string("data", None, "Real images: a folder, an .npz (uint8 N×H×W×3) or tfds:NAME[/SPLIT].")
flags.DEFINE_string("other", "", "Images of another data set, for the contamination disturbance.")
flags.DEFINE_list("types", list(DISTURBANCES), "Disturbances to run.")
flags.DEFINE_integer("num_images", 10_000, "Real images used (the paper advises ≥ 10,000).",
                     lower_bound=2)
flags.DEFINE_integer("image_size", None, "Square size of the images (default: the source's).",
                     lower_bound=8)
flags.DEFINE_string("stats", "", "Real statistics .npz; empty: those of the undisturbed images.")
flags.DEFINE_string("inception_path", None, "The frozen Inception graph file or its folder.")
flags.DEFINE_integer("batch_size", 50, "Images per Inception call.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the random disturbances.", lower_bound=0)
flags.DEFINE_string("out_dir", "fid_disturbance", "Folder for the CSV and the PNG.")
flags.mark_flag_as_required("data")
FLAGS = flags.FLAGS


def load_images(source: str, count: int, image_size: int | None) -> np.ndarray:
    """Up to ``count`` uint8 images (N, S, S, 3) of ``source``, in its order."""
    data = image_data.load_image_data(source, image_size)
    images = np.stack(list(image_data.uint8_images(data).take(count).as_numpy_iterator()))
    if len(images) < count:
        logging.warning("%s has %d images, fewer than --num_images=%d", source, len(images), count)
    return images


def study(images, other, types, features, reference, batch_size, seed) -> list[tuple[str, float, float]]:
    """(disturbance, level, FID) for every level of every disturbance in ``types``."""
    results = []
    for name in types:
        for level in LEVELS[name]:
            rng = np.random.default_rng([seed, list(DISTURBANCES).index(name)])
            extra = {"other": other} if name == "contamination" else {}
            disturbed = DISTURBANCES[name](images, level, rng, **extra)
            statistics = compute_statistics(disturbed, features, batch_size=batch_size)
            fid = frechet_distance(statistics.mu, statistics.sigma, reference.mu, reference.sigma)
            print(f"{name:18s} level {level:<5g} FID {fid:.4f}", flush=True)
            results.append((name, level, fid))
    return results


def write_outputs(results, out_dir: Path) -> list[Path]:
    lines = ["disturbance,level,fid"] + [f"{name},{level!r},{fid!r}" for name, level, fid in results]
    write_bytes_atomically(out_dir / "fid_disturbance.csv", ("\n".join(lines) + "\n").encode())
    written = [out_dir / "fid_disturbance.csv"]
    pyplot = plots.pyplot_or_none()
    if pyplot is not None:
        names = list(dict.fromkeys(name for name, _, _ in results))
        columns = min(3, len(names))
        rows = -(-len(names) // columns)
        figure, axes = pyplot.subplots(rows, columns, figsize=(4 * columns, 3.2 * rows),
                                       squeeze=False)
        for axis, name in zip(axes.ravel(), names):
            points = [(level, fid) for n, level, fid in results if n == name]
            axis.plot(*zip(*points), "o-")
            axis.set_title(name)
            axis.set_xlabel("disturbance level")
            axis.set_ylabel("FID")
        for axis in axes.ravel()[len(names):]:
            axis.set_visible(False)
        plots.save_figure(figure, out_dir / "fid_disturbance.png")
        written.append(out_dir / "fid_disturbance.png")
    return written


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    with cli.user_errors_exit():
        unknown = sorted(set(FLAGS.types) - set(DISTURBANCES))
        if unknown:
            raise ValueError(f"unknown disturbances {unknown}: choose from {sorted(DISTURBANCES)}")
        if "contamination" in FLAGS.types and not FLAGS.other:
            raise ValueError("contamination needs images of another data set: pass --other=SOURCE "
                             "(the paper: ImageNet images), or leave it out of --types")
        images = load_images(FLAGS.data, FLAGS.num_images, FLAGS.image_size)
        other = None
        if "contamination" in FLAGS.types:
            other = load_images(FLAGS.other, len(images), images.shape[1])
        features = InceptionFeatures(FLAGS.inception_path)
        if FLAGS.stats:
            reference = load_statistics(FLAGS.stats)
        else:
            reference = compute_statistics(images, features, batch_size=FLAGS.batch_size,
                                           graph_sha256=features.graph_sha256)
        results = study(images, other, FLAGS.types, features, reference, FLAGS.batch_size,
                        FLAGS.seed)
        written = write_outputs(results, Path(FLAGS.out_dir))
    print("wrote " + " and ".join(str(path) for path in written))


if __name__ == "__main__":
    app.run(main)
