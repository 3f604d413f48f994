"""Computes the FID (and KID, Inception Score, precision/recall) between two image sets.

    python scripts/fid.py PATH1 PATH2 [--metrics=fid,kid,is,pr] [--inception_path=…] [--batch_size=50]

Each PATH is a folder of PNG/JPEG/BMP/WebP images, an .npz with `mu` and `sigma` (ours or the
original project's; with `features` too for KID and precision/recall), an .npz of images, or
tfds:NAME[/SPLIT]. PATH1 is the judged set (generated images), PATH2 the reference. Each set is
read once whatever the metrics; one line per metric, and `FID: <value>` last when FID is asked for.
"""

from absl import app, flags

from ttur_tf import cli
from ttur_tf.metrics.compare_sets import scores_between
from ttur_tf.metrics.image_metrics import METRICS, parse_metrics


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_string("inception_path", None,
                        "The frozen graph file or its folder (default lookup).", **fv)
    flags.DEFINE_integer("batch_size", 50, "Images per Inception call.", lower_bound=1, **fv)
    flags.DEFINE_boolean(
        "drop_remainder", False,
        "Drop the last partial batch, as the original fid.py does (parity with its image count).",
        **fv)
    flags.DEFINE_string("metrics", "fid", f"Comma-separated, any of {','.join(METRICS)}: fid, "
                        "kid (with kid_std: 100 subsets of 1,000), is (PATH1's Inception Score, "
                        "10 splits), pr (precision and recall, k = 3).", **fv)
    flags.DEFINE_integer("seed", 0, "Seed of KID's subsets.", **fv)
    flags.DEFINE_boolean("deterministic", False, "Enable TensorFlow op determinism.", **fv)
    flags.register_validator("metrics", _valid_metrics, f"--metrics: a choice of "
                             f"{','.join(METRICS)}", **fv)


def _valid_metrics(value: str) -> bool:
    try:
        parse_metrics(value)
    except ValueError:
        return False
    return True


def main(argv, flag_values: flags.FlagValues) -> None:
    if len(argv) != 3:
        raise app.UsageError("expected exactly two paths: PATH1 PATH2")
    if flag_values.deterministic:
        cli.enable_determinism()
    with cli.user_errors_exit():
        scores, first, second = scores_between(
            argv[1],
            argv[2],
            metrics=flag_values.metrics,
            inception_path=flag_values.inception_path,
            batch_size=flag_values.batch_size,
            drop_remainder=flag_values.drop_remainder,
            verbose=True,
            seed=flag_values.seed,
        )
    for path, stats in ((argv[1], first), (argv[2], second)):
        count = f"{stats.num_images} images" if stats.num_images else "image count not recorded"
        print(f"{path}: {count}")
    if "kid" in scores:
        print(f"KID: {scores['kid']} ± {scores['kid_std']}")
    if "inception_score" in scores:
        print(f"IS ({argv[1]}): {scores['inception_score']} ± {scores['inception_score_std']}")
    if "precision" in scores:
        print(f"precision: {scores['precision']}")
        print(f"recall: {scores['recall']}")
    if "fid" in scores:
        print(f"FID: {scores['fid']}")


if __name__ == "__main__":
    cli.run_script(define_flags, main)
