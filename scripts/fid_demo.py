"""Offline FID demo: writes two folders of synthetic images and prints the FID between them.

    python scripts/fid_demo.py [--workdir=DIR] [--num_images=512] [--inception_path=…]

"real" holds smooth random images; "disturbed" holds the same kind of images with Gaussian noise
mixed in (one of the paper's disturbances), so the FID printed is clearly above 0. With no
Inception graph found (no --inception_path, $TTUR_INCEPTION_DIR, inception/ or cache), it runs on
the stand-in graph the tests use: then the pipeline is exercised but the value is not an FID
comparable with anything published. The last line printed is `FID: <value>`.
"""

import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf
from absl import flags, logging

from ttur_tf import cli
from ttur_tf.fid import InceptionGraphError, fid_between, locate_graph
from ttur_tf.fid.standin import write_standin_graph
from ttur_tf.files import check_writable_folder, write_bytes_atomically


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_string("workdir", None,
                        "Folder for the images (default: a new temporary folder).", **fv)
    flags.DEFINE_integer("num_images", 512, "Images per folder.", lower_bound=2, **fv)
    flags.DEFINE_integer("image_size", 32, "Height and width of the images.", lower_bound=8, **fv)
    flags.DEFINE_float("noise", 0.25, "Weight of the noise mixed into the disturbed images.", 0, 1,
                       **fv)
    flags.DEFINE_string("inception_path", None, "The frozen graph file or its folder.", **fv)
    flags.DEFINE_integer("seed", 0, "Seed of the synthetic images.", **fv)


def _smooth_images(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    """(count, size, size, 3) float in 0..255: coarse random colour fields, bilinearly upsampled."""
    coarse = rng.uniform(0, 255, (count, 4, 4, 3)).astype(np.float32)
    return tf.image.resize(coarse, (size, size), method="bilinear").numpy()


def _write_pngs(folder: Path, images: np.ndarray) -> None:
    for index, image in enumerate(np.clip(np.round(images), 0, 255).astype(np.uint8)):
        write_bytes_atomically(folder / f"{index:05d}.png", tf.io.encode_png(image).numpy())


def _graph_path(inception_path: str | None, workdir: Path) -> Path:
    try:
        return locate_graph(inception_path, download=False)
    except InceptionGraphError:
        logging.warning(
            "No Inception graph found: using the STAND-IN graph. The pipeline runs, but the value "
            "is NOT an FID comparable with published numbers (see inception/README.md)."
        )
        return write_standin_graph(workdir / "standin")


def main(argv, flag_values: flags.FlagValues) -> None:
    cli.reject_extra_arguments(argv)
    fv = flag_values
    workdir = Path(fv.workdir or tempfile.mkdtemp(prefix="ttur_fid_demo_"))
    rng = np.random.default_rng(fv.seed)
    real = _smooth_images(rng, fv.num_images, fv.image_size)
    base = _smooth_images(rng, fv.num_images, fv.image_size)
    noise = rng.uniform(0, 255, base.shape)
    disturbed = (1 - fv.noise) * base + fv.noise * noise
    with cli.user_errors_exit():
        check_writable_folder(workdir)
        _write_pngs(workdir / "real", real)
        _write_pngs(workdir / "disturbed", disturbed)
        print(f"wrote {fv.num_images} images each to {workdir / 'real'} and "
              f"{workdir / 'disturbed'}")
        fid, _, _ = fid_between(workdir / "real", workdir / "disturbed",
                                inception_path=_graph_path(fv.inception_path, workdir))
    print(f"FID: {fid}")


if __name__ == "__main__":
    cli.run_script(define_flags, main)
