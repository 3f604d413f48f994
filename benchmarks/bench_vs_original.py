"""Training iterations per second at the paper's sizes: ours through ``fit`` against the original
TF1 graphs under ``tf.compat.v1``, in the same run.

    TTUR_ORIGINAL_DIR=/path/to/TTUR python benchmarks/bench_vs_original.py \
        [--rows=language,resnet64,resnet32,dcgan64] [--variants=default,xla,mixed_bfloat16] \
        [--rounds=3] [--block_seconds=20]

The original is not part of this project: clone https://github.com/bioinf-jku/TTUR and point
``TTUR_ORIGINAL_DIR`` at the clone (``original_networks.py`` says what is taken from it).

Rows, each in its TTUR setting (one generator and one critic update per iteration), batch 64:

* ``language``: ``gan_language_JSD.py``'s 1D-conv ResNets, dim 512, 32 characters, a charmap of
  ``--vocab_size`` characters (2,048: the original's cap, reached on the One Billion Word
  corpus); ours: ``configs/lang_1b_ttur.flags``;
* ``resnet64``: ``gan_64x64_FID.py``'s ResNets at 64×64, DIM 64 (``wgan_gp_lsun_ttur.flags``);
* ``resnet32``: the same script at DIM 32 on 32×32 images, as the paper ran CIFAR-10
  (``wgan_gp_cifar10_ttur.flags``);
* ``dcgan64``: TTUR's ``DCGAN_FID_batched`` (carpedm20's DCGAN) at 64×64
  (``dcgan_celeba_ttur.flags``).

Per row and variant of ours (``default``; ``xla``: ``--jit_compile``; ``mixed_bfloat16`` /
``mixed_float16``: ``--mixed_precision``), one process builds the original and that variant
(variants share no process: here a model that has run in bfloat16 leaves float32 ``fit`` in the
same process half as fast, 10.2 s against 5.1 s per language iteration), warms both up (tracing,
compilation), then times them in alternating blocks of about ``--block_seconds`` each
(iterations at each one's own pace), ``--rounds`` times. Ours trains in one long ``fit``, as a
training run does, timed iteration by iteration, and a Keras callback runs the original's blocks
between ours: with one ``fit`` call per block, ours ran some calls in a mode twice as slow here
(the DCGAN: 1.3 or 2.55 s per iteration, decided per call), which one long ``fit`` did not show.
The median block gives iterations/s, and the ratio is against the original timed in the same
process. Peak RSS is measured per implementation in a fresh process of its own (build, warm up,
two iterations). Both sides train on fixed random batches held in memory: no input pipeline.
"""

import json
import math
import statistics
import sys
import time
from pathlib import Path

import keras
import numpy as np
from absl import app, flags
from fresh_process import measure_in_fresh_process, report

ROOT = Path(__file__).resolve().parent.parent

ROWS = {  # name: (flagfile, what the original is)
    "language": ("lang_1b_ttur.flags", "gan_language_JSD.py, dim 512"),
    "resnet64": ("wgan_gp_lsun_ttur.flags", "gan_64x64_FID.py, 64×64, DIM 64"),
    "resnet32": ("wgan_gp_cifar10_ttur.flags", "gan_64x64_FID.py, 32×32, DIM 32 (CIFAR-10)"),
    "dcgan64": ("dcgan_celeba_ttur.flags", "DCGAN_FID_batched, 64×64"),
}

flags.DEFINE_list("rows", list(ROWS), f"Rows to measure: {', '.join(ROWS)}.")
flags.DEFINE_list("variants", ["default", "xla", "mixed_bfloat16"],
                  "Variants of ours: default, xla, mixed_bfloat16, mixed_float16.")
flags.DEFINE_integer("rounds", 3, "Alternating rounds of timed blocks.")
flags.DEFINE_float("block_seconds", 15.0, "Length of a timed block (iterations at each "
                   "implementation's own pace).")
flags.DEFINE_integer("warmup", 2, "Untimed iterations of each implementation first.")
flags.DEFINE_integer("vocab_size", 2048, "Characters in the language row's charmap.")
flags.DEFINE_bool("memory", True, "Also measure each implementation's peak RSS alone.")
flags.DEFINE_string("worker", None, "Internal: JSON job for a measuring subprocess.")
FLAGS = flags.FLAGS


def _config(row: str, variant: str):
    from ttur_tf.training_flags import config_from_flagfile

    return config_from_flagfile(
        ROOT / "configs" / ROWS[row][0], logdir="unused", dataset="unused",
        jit_compile=variant == "xla",
        mixed_precision=variant if variant.startswith("mixed_") else "off").resolved()


def _ours(row: str, variant: str, vocab_size: int):
    """A ``run(steps, callbacks=())`` that trains our GAN of ``row`` for ``steps`` iterations
    through one ``fit`` call."""
    import tensorflow as tf

    from ttur_tf.gan import stack_critic_batches
    from ttur_tf.training import build_gan

    config = _config(row, variant)
    rng = np.random.default_rng(0)
    if config.model == "language":
        gan = build_gan(config, vocab_size=vocab_size)
        rows = tf.one_hot(rng.integers(0, vocab_size, (4 * config.batch_size, config.seq_len)),
                          vocab_size)
    else:
        gan = build_gan(config, image_size=config.image_size)
        rows = rng.uniform(-1, 1, (4 * config.batch_size, config.image_size, config.image_size,
                                   3)).astype(np.float32)
    batches = tf.data.Dataset.from_tensor_slices(rows).batch(
        config.batch_size, drop_remainder=True).cache().repeat()
    data = stack_critic_batches(batches, config.n_critic).prefetch(2)

    def run(steps: int, callbacks=()) -> None:
        gan.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False,
                callbacks=list(callbacks))

    return run


def _original(row: str, vocab_size: int):
    """A ``run(steps)`` that trains the original of ``row`` for ``steps`` iterations."""
    import original_networks

    checkout = original_networks.original_checkout()
    config = _config(row, "default")
    if row == "language":
        model = original_networks.build_language(checkout, config.seq_len, vocab_size,
                                                 config.dim, config.batch_size)
    elif row == "dcgan64":
        model = original_networks.build_dcgan(checkout, config.image_size, config.dim,
                                              config.batch_size)
    else:
        model = original_networks.build_image_resnet(checkout, config.image_size, config.dim,
                                                     config.batch_size)

    def run(steps: int) -> None:
        for _ in range(steps):
            model.iteration()

    return run


def _build(implementation: str, row: str, vocab_size: int):
    if implementation == "original":
        return _original(row, vocab_size)
    return _ours(row, implementation, vocab_size)


def _timed(run, steps: int) -> float:
    start = time.perf_counter()
    run(steps)
    return time.perf_counter() - start


def _start_eager_runtime() -> None:
    """Runs one eager op. A TF1 session created before the eager runtime starts leaves eager
    ops (our ``fit``) half as fast here (language row: 10.2 s per iteration instead of 5.1)."""
    import tensorflow as tf

    tf.reduce_sum(tf.ones([2])).numpy()


class _BlocksInOneFit(keras.callbacks.Callback):
    """Times our iterations one by one inside a single ``fit`` and, after each block of ours,
    runs a timed block of the original; stops the ``fit`` after ``rounds`` blocks of each."""

    def __init__(self, original, original_steps: int, warmup: int, block_seconds: float,
                 rounds: int):
        super().__init__()
        self.original, self.original_steps = original, original_steps
        self.warmup, self.block_seconds, self.rounds = warmup, block_seconds, rounds
        self.ours_seconds: list[float] = []  # every iteration of ours, warm-up included
        self.blocks = {"original": [], "ours": []}  # mean seconds per iteration, per block
        self.ours_steps = None  # sized from the first iteration after the warm-up
        self._start = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.ours_seconds.append(time.perf_counter() - self._start)
        timed = len(self.ours_seconds) - self.warmup - 1  # after the warm-up and one to size
        if timed == 0:
            self.ours_steps = max(1, math.ceil(self.block_seconds / self.ours_seconds[-1]))
        elif timed > 0 and timed % self.ours_steps == 0:
            self.blocks["ours"].append(statistics.fmean(self.ours_seconds[-self.ours_steps:]))
            self.blocks["original"].append(
                _timed(self.original, self.original_steps) / self.original_steps)
            if len(self.blocks["ours"]) == self.rounds:
                self.model.stop_training = True


def _alternating_in_one_fit(job) -> None:
    """Ours trains in one long ``fit``, as a training run does (a ``fit`` call per block put
    ours in a mode twice as slow in some calls here), timed per iteration, with the original's
    blocks run between ours from a callback."""
    _start_eager_runtime()
    variant = job["variant"]
    original = _build("original", job["row"], job["vocab_size"])
    original_warmup = _timed(original, job["warmup"])
    original_steps = max(1, math.ceil(job["block_seconds"] / _timed(original, 1)))
    ours = _build(variant, job["row"], job["vocab_size"])
    blocks = _BlocksInOneFit(original, original_steps, job["warmup"], job["block_seconds"],
                             job["rounds"])
    ours(10**9, callbacks=[blocks])  # ends itself after its rounds (stop_training)
    report(steps={"original": original_steps, variant: blocks.ours_steps},
           warmup={"original": original_warmup,
                   variant: sum(blocks.ours_seconds[:job["warmup"]])},
           rates={"original": 1 / statistics.median(blocks.blocks["original"]),
                  variant: 1 / statistics.median(blocks.blocks["ours"])})


def measure(job):
    if job["kind"] == "memory":
        run = _build(job["implementation"], job["row"], job["vocab_size"])
        run(job["warmup"])
        seconds = _timed(run, job["steps"])
        report(seconds=seconds)
        return
    _alternating_in_one_fit(job)


def main(argv):
    del argv
    if FLAGS.worker:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        measure(json.loads(FLAGS.worker))
        return
    import original_networks

    if original_networks.original_checkout() is None:
        sys.exit(f"bench_vs_original needs the original code: {original_networks.HOW_TO_GET}")
    for row in FLAGS.rows:
        if row not in ROWS:
            sys.exit(f"unknown row {row!r}: choose among {', '.join(ROWS)}")
    import platform

    import tensorflow as tf

    print(f"TensorFlow {tf.__version__}, {platform.processor() or platform.machine()}, "
          f"{len(__import__('os').sched_getaffinity(0))} CPUs; batch 64, TTUR settings; "
          "iterations/s (one G and one D update); peak RSS per implementation alone")
    print(f"{'row':<9} {'implementation':<15} {'it/s':>8} {'× orig':>7} {'peak MiB':>9} "
          f"{'× orig':>7}  {'warm-up s':>9}")
    for row in FLAGS.rows:
        print(f"{row}: {ROWS[row][1]}; ours {ROWS[row][0]}; {FLAGS.rounds} rounds of blocks of "
              f"about {FLAGS.block_seconds:g} s", flush=True)
        original_peak = _peak(row, "original") if FLAGS.memory else None
        for variant in FLAGS.variants:
            speed = measure_in_fresh_process(
                __file__, kind="speed", row=row, variant=variant, rounds=FLAGS.rounds,
                block_seconds=FLAGS.block_seconds, warmup=FLAGS.warmup,
                vocab_size=FLAGS.vocab_size)
            rates = speed["rates"]
            if variant == FLAGS.variants[0]:
                _print_line("original", rates["original"], 1.0, original_peak, original_peak,
                            speed["warmup"]["original"])
            peak = _peak(row, variant) if FLAGS.memory else None
            _print_line(variant, rates[variant], rates[variant] / rates["original"], peak,
                        original_peak, speed["warmup"][variant])


def _peak(row: str, implementation: str) -> float:
    """Peak RSS (MiB) of ``implementation`` alone: built, warmed up, trained a few iterations."""
    return measure_in_fresh_process(
        __file__, kind="memory", implementation=implementation, row=row,
        vocab_size=FLAGS.vocab_size, warmup=FLAGS.warmup, steps=2)["peak_mib"]


def _print_line(name, rate, ratio, peak, original_peak, warmup_seconds):
    memory = (f"{peak:9.0f} {peak / original_peak:6.2f}×" if peak else f"{'':9s} {'':7s}")
    print(f"{'':<9} {name:<15} {rate:8.3f} {ratio:6.2f}× {memory}  {warmup_seconds:9.1f}",
          flush=True)


if __name__ == "__main__":
    app.run(main)
