"""Computes the FID between two image folders or .npz statistics files.

    python scripts/fid.py PATH1 PATH2 [--inception_path=…] [--batch_size=50]

Each PATH is a folder of PNG/JPEG/BMP/WebP images, an .npz with `mu` and `sigma` (ours or the
original project's), or tfds:NAME[/SPLIT]. The last line printed is `FID: <value>`.
"""

from absl import app, flags

from ttur_tf import cli
from ttur_tf.fid import fid_between


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_string("inception_path", None,
                        "The frozen graph file or its folder (default lookup).", **fv)
    flags.DEFINE_integer("batch_size", 50, "Images per Inception call.", lower_bound=1, **fv)
    flags.DEFINE_boolean(
        "drop_remainder", False,
        "Drop the last partial batch, as the original fid.py does (parity with its image count).",
        **fv)
    flags.DEFINE_boolean("deterministic", False, "Enable TensorFlow op determinism.", **fv)


def main(argv, flag_values: flags.FlagValues) -> None:
    if len(argv) != 3:
        raise app.UsageError("expected exactly two paths: PATH1 PATH2")
    if flag_values.deterministic:
        cli.enable_determinism()
    with cli.user_errors_exit():
        fid, first, second = fid_between(
            argv[1],
            argv[2],
            inception_path=flag_values.inception_path,
            batch_size=flag_values.batch_size,
            drop_remainder=flag_values.drop_remainder,
            verbose=True,
        )
    for path, stats in ((argv[1], first), (argv[2], second)):
        count = f"{stats.num_images} images" if stats.num_images else "image count not recorded"
        print(f"{path}: {count}")
    print(f"FID: {fid}")


if __name__ == "__main__":
    cli.run_script(define_flags, main)
