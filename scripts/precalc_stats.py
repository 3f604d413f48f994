"""Precomputes FID statistics (`mu`, `sigma`) of a folder of images or a tfds split.

    python scripts/precalc_stats.py --data=PATH_OR_tfds:NAME[/SPLIT] --out=FILE.npz

The .npz holds `mu` (2048,) and `sigma` (2048, 2048) in float64, readable by the original project,
plus the number of images, their size and the Inception graph's SHA-256. Whether --out can be
written is checked before any image is read.
"""

from pathlib import Path

from absl import flags

from ttur_tf import cli
from ttur_tf.fid import InceptionFeatures, compute_statistics
from ttur_tf.files import check_writable_folder


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_string("data", None, "A folder of images or tfds:NAME[/CONFIG][/SPLIT].", **fv)
    flags.DEFINE_string("out", None, "The .npz file to write.", **fv)
    flags.DEFINE_string("inception_path", None,
                        "The frozen graph file or its folder (default lookup).", **fv)
    flags.DEFINE_integer("batch_size", 50, "Images per Inception call.", lower_bound=1, **fv)
    flags.DEFINE_boolean("drop_remainder", False,
                         "Drop the last partial batch, as the original fid.py does.", **fv)
    flags.DEFINE_boolean("deterministic", False, "Enable TensorFlow op determinism.", **fv)
    flags.mark_flags_as_required(["data", "out"], **fv)
    flags.register_validator("out", lambda out: out.endswith(".npz"), "--out must end in .npz",
                             **fv)


def main(argv, flag_values: flags.FlagValues) -> None:
    cli.reject_extra_arguments(argv)
    if flag_values.deterministic:
        cli.enable_determinism()
    out = Path(flag_values.out)
    with cli.user_errors_exit():
        check_writable_folder(out.parent)
        if out.is_dir():
            raise ValueError(f"--out {out} is a folder: give the path of an .npz file")
        features = InceptionFeatures(flag_values.inception_path)
        stats = compute_statistics(
            flag_values.data,
            features,
            batch_size=flag_values.batch_size,
            drop_remainder=flag_values.drop_remainder,
            verbose=True,
            graph_sha256=features.graph_sha256,
        )
        stats.save(out)
    print(f"wrote {out}: statistics of {stats.num_images} images")


if __name__ == "__main__":
    cli.run_script(define_flags, main)
