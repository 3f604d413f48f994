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
from absl import flags, logging

from ttur_tf import cli, plots
from ttur_tf.data import images as image_data
from ttur_tf.fid import InceptionFeatures, compute_statistics, frechet_distance, load_statistics
from ttur_tf.fid.disturbances import DISTURBANCES, LEVELS
from ttur_tf.files import check_writable_folder, write_bytes_atomically


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_string("data", None, "Real images: a folder, an .npz (uint8 N×H×W×3) or "
                        "tfds:NAME[/SPLIT].", **fv)
    flags.DEFINE_string("other", "", "Images of another data set, for the contamination "
                        "disturbance.", **fv)
    flags.DEFINE_list("types", list(DISTURBANCES), "Disturbances to run.", **fv)
    flags.DEFINE_integer("num_images", 10_000, "Real images used (the paper advises ≥ 10,000).",
                         lower_bound=2, **fv)
    flags.DEFINE_integer("image_size", None, "Square size of the images (default: the source's).",
                         lower_bound=8, **fv)
    flags.DEFINE_string("stats", "", "Real statistics .npz; empty: those of the undisturbed "
                        "images.", **fv)
    flags.DEFINE_string("inception_path", None, "The frozen Inception graph file or its folder.",
                        **fv)
    flags.DEFINE_integer("batch_size", 50, "Images per Inception call.", lower_bound=1, **fv)
    flags.DEFINE_integer("seed", 0, "Seed of the random disturbances.", lower_bound=0, **fv)
    flags.DEFINE_string("out_dir", "fid_disturbance", "Folder for the CSV and the PNG.", **fv)
    flags.mark_flag_as_required("data", **fv)


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


def main(argv, flag_values: flags.FlagValues) -> None:
    cli.reject_extra_arguments(argv)
    fv = flag_values
    with cli.user_errors_exit():
        unknown = sorted(set(fv.types) - set(DISTURBANCES))
        if unknown:
            raise ValueError(f"unknown disturbances {unknown}: choose from {sorted(DISTURBANCES)}")
        if "contamination" in fv.types and not fv.other:
            raise ValueError("contamination needs images of another data set: pass --other=SOURCE "
                             "(the paper: ImageNet images), or leave it out of --types")
        check_writable_folder(fv.out_dir)
        images = load_images(fv.data, fv.num_images, fv.image_size)
        other = None
        if "contamination" in fv.types:
            other = load_images(fv.other, len(images), images.shape[1])
        features = InceptionFeatures(fv.inception_path)
        if fv.stats:
            reference = load_statistics(fv.stats)
        else:
            reference = compute_statistics(images, features, batch_size=fv.batch_size,
                                           graph_sha256=features.graph_sha256)
        results = study(images, other, fv.types, features, reference, fv.batch_size, fv.seed)
        written = write_outputs(results, Path(fv.out_dir))
    print("wrote " + " and ".join(str(path) for path in written))


if __name__ == "__main__":
    cli.run_script(define_flags, main)
