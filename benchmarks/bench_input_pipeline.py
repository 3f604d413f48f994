"""The input pipeline alone against what one train step consumes, per model at the paper's size.

    python benchmarks/bench_input_pipeline.py [--rows=lang_1b_ttur,...] [--seconds=10]
        [--train_steps=2]

For each row, a flagfile of the paper at its size (networks, batch, n_critic) and a stand-in for
its data that costs what the real data costs to read (no dataset can be downloaded here):

* language: 1,000,000 lines of 32 character ids over 2,048 ids (the One Billion Word setting's
  vocabulary bound), one-hot encoded as training does;
* LSUN bedroom: a folder of 256×341 JPEGs (LSUN's size class), center-cropped and resized to 64;
* CelebA: a folder of 218×178 JPEGs (CelebA's size), cropped and resized to 64;
* CIFAR-10: a folder of 32×32 PNGs (tfds stores CIFAR-10 as PNGs).

It prints, per row, the rows (lines or images) per second the pipeline (``training_batches``
with ``stack_critic_batches``, exactly what ``fit`` reads) delivers for ``--seconds``, for images
both decoding every epoch and decoded once in memory (``decoded_in_memory``, what training uses
when the set fits), the rows per second one train step consumes (``fit`` on in-memory batches,
after a warm-up step), and the ratio of the slower pipeline to the step: the pipeline is not the
bottleneck when the ratio is well above 1 (the goal: ≥ 5).
The two are measured one after the other: on a machine where both share the cores, the ratio is
what the pipeline can spare.
"""

import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from absl import app, flags

from ttur_tf.data import images as image_data
from ttur_tf.data import text as text_data
from ttur_tf.gan import stack_critic_batches
from ttur_tf.training import build_gan
from ttur_tf.training_flags import config_from_flagfile

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
# row → (flagfile, data kind)
ROWS = {
    "lang_1b_ttur": ("lang_1b_ttur.flags", "text"),
    "lang_1b_orig": ("lang_1b_orig.flags", "text"),
    "wgan_gp_lsun_ttur": ("wgan_gp_lsun_ttur.flags", "lsun_jpeg"),
    "wgan_gp_cifar10_ttur": ("wgan_gp_cifar10_ttur.flags", "cifar_png"),
    "dcgan_celeba_ttur": ("dcgan_celeba_ttur.flags", "celeba_jpeg"),
}
flags.DEFINE_list("rows", list(ROWS), f"Rows to measure: {', '.join(ROWS)}.")
flags.DEFINE_float("seconds", 10.0, "How long the pipeline alone is read.")
flags.DEFINE_integer("train_steps", 2, "Timed train steps (after one warm-up step).")
FLAGS = flags.FLAGS

_LINES, _SEQ_LEN, _VOCAB = 1_000_000, 32, 2048
_IMAGE_FILES = {"lsun_jpeg": (256, 341, "jpg", 400), "celeba_jpeg": (218, 178, "jpg", 400),
                "cifar_png": (32, 32, "png", 2000)}


def write_image_folder(folder: Path, kind: str) -> Path:
    """Smooth random images (they compress like photographs) of the kind's size and format."""
    height, width, extension, count = _IMAGE_FILES[kind]
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        coarse = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), np.uint8)
        image = tf.image.resize(coarse, [height, width], "bilinear")
        image = tf.cast(tf.clip_by_value(image + rng.normal(0, 8, (height, width, 3)), 0, 255),
                        tf.uint8)
        encoded = (tf.io.encode_jpeg(image, quality=90) if extension == "jpg"
                   else tf.io.encode_png(image))
        tf.io.write_file(str(folder / f"{index:05d}.{extension}"), encoded)
    return folder


def pipelines(config, scratch: Path, kind: str) -> tuple[dict[str, tf.data.Dataset], int]:
    """(the training pipelines by name, the vocabulary or image size)."""
    if kind == "text":
        lines = np.random.default_rng(0).integers(0, _VOCAB, (_LINES, _SEQ_LEN)).astype(np.int32)
        batches = text_data.training_batches(lines, config.batch_size, config.seed).map(
            lambda ids: tf.one_hot(ids, _VOCAB))
        return {"in memory": batches}, _VOCAB
    data = image_data.load_image_data(str(write_image_folder(scratch / kind, kind)),
                                      config.image_size)
    return {name: image_data.training_batches(source, config.batch_size, config.seed)
            for name, source in (("every epoch", data),
                                 ("in memory", image_data.decoded_in_memory(data)))
            }, data.image_size


def rows_per_second(config, batches: tf.data.Dataset) -> float:
    """Rows per second the pipeline delivers to ``fit``."""
    elements = iter(stack_critic_batches(batches, config.n_critic))
    next(elements)  # the first element starts the pipeline's threads
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < FLAGS.seconds:
        next(elements)
        count += 1
    rows = count * config.batch_size * config.n_critic
    return rows / (time.perf_counter() - start)


def train_rows_per_second(config, kind: str, shape: int) -> float:
    """Rows per second ``fit`` consumes at the row's size (in-memory random batches)."""
    rng = np.random.default_rng(0)
    if kind == "text":
        gan = build_gan(config, vocab_size=shape)
        rows = tf.one_hot(rng.integers(0, shape, (2 * config.batch_size, _SEQ_LEN)), shape)
    else:
        gan = build_gan(config, image_size=shape)
        rows = rng.uniform(-1, 1, (2 * config.batch_size, shape, shape, 3)).astype(np.float32)
    batches = tf.data.Dataset.from_tensor_slices(rows).batch(
        config.batch_size, drop_remainder=True).repeat()
    data = stack_critic_batches(batches, config.n_critic).prefetch(2)
    gan.fit(data, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    start = time.perf_counter()
    gan.fit(data, epochs=1, steps_per_epoch=FLAGS.train_steps, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    return FLAGS.train_steps * config.batch_size * config.n_critic / seconds


def main(argv):
    del argv
    unknown = set(FLAGS.rows) - set(ROWS)
    if unknown:
        raise app.UsageError(f"unknown rows {sorted(unknown)}; choose from {list(ROWS)}")
    print(f"{'row':22} {'model':9} {'dim':>4} {'batch×n_critic':>14} {'decoding rows/s':>16} "
          f"{'in memory rows/s':>17} {'train rows/s':>13} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as scratch:
        for row in FLAGS.rows:
            flagfile, kind = ROWS[row]
            config = config_from_flagfile(CONFIGS / flagfile, logdir=scratch).resolved()
            by_name, shape = pipelines(config, Path(scratch), kind)
            delivered = {name: rows_per_second(config, batches)
                         for name, batches in by_name.items()}
            consumed = train_rows_per_second(config, kind, shape)
            decoding = f"{delivered['every epoch']:.0f}" if "every epoch" in delivered else "-"
            print(f"{row:22} {config.model:9} {config.dim:>4} "
                  f"{f'{config.batch_size}×{config.n_critic}':>14} {decoding:>16} "
                  f"{delivered['in memory']:>17.0f} {consumed:>13.1f} "
                  f"{min(delivered.values()) / consumed:>6.0f}×", flush=True)


if __name__ == "__main__":
    app.run(main)
