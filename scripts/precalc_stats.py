"""Precomputes FID statistics (`mu`, `sigma`) of a folder of images or a tfds split.

    python scripts/precalc_stats.py --data=PATH_OR_tfds:NAME[/SPLIT] --out=FILE.npz

The .npz holds `mu` (2048,) and `sigma` (2048, 2048) in float64, readable by the original project,
plus the number of images, their size and the Inception graph's SHA-256.
"""

from absl import app, flags

from ttur_tf import cli
from ttur_tf.fid import InceptionFeatures, compute_statistics

flags.DEFINE_string("data", None, "A folder of images or tfds:NAME[/CONFIG][/SPLIT].")
flags.DEFINE_string("out", None, "The .npz file to write.")
flags.DEFINE_string("inception_path", None, "The frozen graph file or its folder (default lookup).")
flags.DEFINE_integer("batch_size", 50, "Images per Inception call.", lower_bound=1)
flags.DEFINE_boolean(
    "drop_remainder", False, "Drop the last partial batch, as the original fid.py does."
)
flags.DEFINE_boolean("deterministic", False, "Enable TensorFlow op determinism.")
flags.mark_flags_as_required(["data", "out"])
flags.register_validator("out", lambda out: out.endswith(".npz"), "--out must end in .npz")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if FLAGS.deterministic:
        cli.enable_determinism()
    with cli.user_errors_exit():
        features = InceptionFeatures(FLAGS.inception_path)
        stats = compute_statistics(
            FLAGS.data,
            features,
            batch_size=FLAGS.batch_size,
            drop_remainder=FLAGS.drop_remainder,
            verbose=True,
            graph_sha256=features.graph_sha256,
        )
        stats.save(FLAGS.out)
    print(f"wrote {FLAGS.out}: statistics of {stats.num_images} images")


if __name__ == "__main__":
    app.run(main)
