"""Precomputes FID statistics (`mu`, `sigma`) of a folder of images or a tfds split.

    python scripts/precalc_stats.py --data=PATH_OR_tfds:NAME[/SPLIT] --out=FILE.npz

The .npz holds `mu` (2048,) and `sigma` (2048, 2048) in float64, readable by the original project,
plus the number of images, their size and the Inception graph's SHA-256. Whether --out can be
written is checked before any image is read; while it runs, the script holds `.<out>.lock` beside
--out, and a second process writing the same file is refused. Ctrl-C (or SIGTERM) ends it with one
line and leaves no partial file.

Many images on several machines or GPUs: run one shard per process, then merge. Each shard takes
every N-th image from its index and writes its partial moments; the merge is exact (equal to one
pass to float64 rounding):

    python scripts/precalc_stats.py --data=D --num_shards=4 --shard_index=0 --out=part0.npz  # … 3
    python scripts/precalc_stats.py --merge=part0.npz,part1.npz,part2.npz,part3.npz --out=FILE.npz
"""

from pathlib import Path

from absl import flags

from ttur_tf import cli
from ttur_tf.data.image_sources import image_batches
from ttur_tf.fid import InceptionFeatures
from ttur_tf.fid.moments import load_partial, merge_partials, save_partial
from ttur_tf.fid.stats import compute_moments, statistics_of_moments
from ttur_tf.files import check_writable_folder
from ttur_tf.metrics.image_metrics import collect_features
from ttur_tf.run_lock import RunLock


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_string("data", None, "A folder of images or tfds:NAME[/CONFIG][/SPLIT].", **fv)
    flags.DEFINE_string("out", None, "The .npz file to write (a shard's partial moments when "
                        "--num_shards > 1).", **fv)
    flags.DEFINE_string("inception_path", None,
                        "The frozen graph file or its folder (default lookup).", **fv)
    flags.DEFINE_integer("batch_size", 50, "Images per Inception call.", lower_bound=1, **fv)
    flags.DEFINE_boolean("drop_remainder", False,
                         "Drop the last partial batch, as the original fid.py does.", **fv)
    flags.DEFINE_integer("num_shards", 1, "Split the images into this many shards (one process "
                         "each; merge their outputs with --merge).", lower_bound=1, **fv)
    flags.DEFINE_integer("shard_index", 0, "This process's shard, 0 ≤ shard_index < num_shards: "
                         "every num_shards-th image from this index.", lower_bound=0, **fv)
    flags.DEFINE_list("merge", [], "Partial files of every shard (comma-separated) to merge into "
                      "the statistics --out; no image is read.", **fv)
    flags.DEFINE_boolean("features", False, "Store the pool_3 features themselves too (N × 2048 "
                         "float32, 400 MB at 50,000 images), which KID and precision/recall "
                         "compare; one process only (no --num_shards).", **fv)
    flags.DEFINE_boolean("deterministic", False, "Enable TensorFlow op determinism.", **fv)
    flags.mark_flag_as_required("out", **fv)
    flags.register_validator("out", lambda out: out.endswith(".npz"), "--out must end in .npz",
                             **fv)
    flags.register_multi_flags_validator(
        ["data", "merge"], lambda values: bool(values["data"]) != bool(values["merge"]),
        "give either --data (images to read) or --merge (partial files to combine)", **fv)
    flags.register_multi_flags_validator(
        ["features", "num_shards", "merge"],
        lambda values: not values["features"] or (values["num_shards"] == 1 and not values["merge"]),
        "--features is for one process: the statistics of every image in one pass", **fv)
    flags.register_multi_flags_validator(
        ["num_shards", "shard_index"],
        lambda values: values["shard_index"] < values["num_shards"],
        "--shard_index must be less than --num_shards", **fv)


def main(argv, flag_values: flags.FlagValues) -> None:
    cli.reject_extra_arguments(argv)
    if flag_values.deterministic:
        cli.enable_determinism()
    out = Path(flag_values.out)
    with cli.user_errors_exit(f"nothing was written to {out}"):
        check_writable_folder(out.parent)
        if out.is_dir():
            raise ValueError(f"--out {out} is a folder: give the path of an .npz file")
        with RunLock(out.with_name(f".{out.name}.lock"), f"the output {out}",
                     "choose another --out"):
            _write_statistics(flag_values, out)


def _write_statistics(flag_values: flags.FlagValues, out: Path) -> None:
    """Computes (or merges) the statistics and writes ``out``; prints what it wrote."""
    if flag_values.merge:
        merged = merge_partials([load_partial(path) for path in flag_values.merge])
        stats = statistics_of_moments(merged)
        stats.save(out)
        print(f"wrote {out}: statistics of {stats.num_images} images from "
              f"{len(flag_values.merge)} shards")
        return
    features = InceptionFeatures(flag_values.inception_path)
    if flag_values.features:
        images = image_batches(flag_values.data, flag_values.batch_size,
                               drop_remainder=flag_values.drop_remainder)
        collector, image_size = collect_features(images.batches, features, ("fid", "kid"),
                                                 images.count)
        stats = collector.statistics(image_size, features.graph_sha256)
        stats.save(out)
        print(f"wrote {out}: statistics and features of {stats.num_images} images")
        return
    partial = compute_moments(
        flag_values.data,
        features,
        batch_size=flag_values.batch_size,
        drop_remainder=flag_values.drop_remainder,
        verbose=True,
        graph_sha256=features.graph_sha256,
        num_shards=flag_values.num_shards,
        shard_index=flag_values.shard_index,
    )
    if flag_values.num_shards > 1:
        save_partial(out, partial)
        print(f"wrote {out}: partial moments of shard {flag_values.shard_index} of "
              f"{flag_values.num_shards} ({partial.moments.count} images)")
        return
    stats = statistics_of_moments(partial)
    stats.save(out)
    print(f"wrote {out}: statistics of {stats.num_images} images")


if __name__ == "__main__":
    cli.run_script(define_flags, main)
