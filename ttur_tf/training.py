"""Training a GAN with TTUR: the library behind scripts/train_wgan_gp.py and train_dcgan.py.

``train(TrainConfig(...))`` builds the data pipeline, the networks, the ``GAN`` with its two
optimizers, the checkpoint and the callbacks, resumes from the latest checkpoint in ``logdir``, and
trains until ``steps`` steps are done. Image and language models share this loop; only the data,
the networks and the evaluation differ. Everything a run writes is under ``logdir``:

* TensorBoard events: ``d_loss``, ``g_loss``, ``gradient_penalty``, ``wasserstein``; for images
  ``fid``, ``best_fid`` and a ``samples`` image; for text ``js1``…``js6`` and ``samples`` text;
* ``samples/`` (PNG grids, or ``samples_<step>.txt``), ``checkpoints/``, ``config.json``;
* images: the training data's FID statistics (``reference_stats.npz``) when no ``fid_stats`` file
  is given; text: the character map (``charmap.json``) that the checkpoints' ids refer to.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from ttur_tf import callbacks as callbacks_lib
from ttur_tf import losses
from ttur_tf.data import images as image_data
from ttur_tf.data import text as text_data
from ttur_tf.files import write_bytes_atomically
from ttur_tf.fid import InceptionFeatures, compute_statistics, load_statistics
from ttur_tf.gan import GAN, stack_critic_batches
from ttur_tf.metrics.ngram import NgramLanguageModel
from ttur_tf.models import dcgan, language, wgan_gp_resnet

__all__ = ["IMAGE_MODELS", "MODELS", "OPTIMIZERS", "TrainConfig", "TrainResult", "build_gan", "train"]

IMAGE_MODELS = ("resnet", "dcgan")
MODELS = IMAGE_MODELS + ("language",)
OPTIMIZERS = ("adam", "rmsprop")
_SAMPLE_GRID_SIZE = 64
_REFERENCE_STATS_FILE = "reference_stats.npz"
_CHARMAP_FILE = "charmap.json"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults are the original WGAN-GP script's TTUR setting.

    Learning rates, betas and n_critic are per network (``d_``/``g_``): the two time scales.
    ``model="language"`` trains the character-level GAN on a text ``dataset`` (see
    ``ttur_tf.data.text``); the ``fid_*`` and ``image_size`` settings then do not apply, and the
    ``seq_len``, ``max_*`` and ``jsd_*`` ones apply to it only.
    ``adam_epsilon`` is TF1's Adam default, 1e-8 (Keras 3's is 1e-7). Intervals are in steps
    (one step = one generator update and ``n_critic`` discriminator updates); 0 turns FID off.
    """

    logdir: str
    dataset: str
    image_size: int | None = None
    model: str = "resnet"
    dim: int = 64
    loss: str = "wgan-gp"
    optimizer: str = "adam"
    d_lr: float = 3e-4
    g_lr: float = 1e-4
    d_beta1: float = 0.0
    d_beta2: float = 0.9
    g_beta1: float = 0.0
    g_beta2: float = 0.9
    adam_epsilon: float = 1e-8
    n_critic: int = 1
    gp_weight: float = 10.0
    batch_size: int = 64
    steps: int = 100_000
    seed: int = 0
    log_every: int = 100
    sample_every: int = 200
    checkpoint_every: int = 1000
    max_checkpoints: int = 5
    fid_every: int = 1000
    fid_num_samples: int = 50_000
    fid_sample_batch_size: int = 1000
    fid_batch_size: int = 200
    fid_stats: str = ""
    inception_path: str = ""
    resume: bool = True
    jit_compile: bool = False
    seq_len: int = 32
    max_n_examples: int = 10_000_000
    max_vocab_size: int = 2048
    jsd_every: int = 100
    jsd_ngrams: int = 6
    jsd_num_batches: int = 10

    def validate(self) -> None:
        """Raises ValueError naming the first out-of-range setting."""
        choices = {"model": MODELS, "loss": tuple(losses.LOSSES), "optimizer": OPTIMIZERS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        positive = ("dim", "n_critic", "batch_size", "steps", "log_every", "sample_every",
                    "checkpoint_every", "max_checkpoints", "fid_num_samples",
                    "fid_sample_batch_size", "fid_batch_size", "seq_len", "max_n_examples",
                    "jsd_ngrams", "jsd_num_batches")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        for name in ("d_lr", "g_lr", "adam_epsilon"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("d_beta1", "d_beta2", "g_beta1", "g_beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.gp_weight < 0 or self.fid_every < 0 or self.jsd_every < 0:
            raise ValueError("gp_weight, fid_every and jsd_every must be ≥ 0")
        if self.max_vocab_size < 2:
            raise ValueError(f"max_vocab_size must be ≥ 2, got {self.max_vocab_size}")
        if self.model == "language" and self.jsd_every and self.seq_len < self.jsd_ngrams:
            raise ValueError(f"seq_len ({self.seq_len}) must be ≥ jsd_ngrams ({self.jsd_ngrams})")
        if self.fid_every and self.fid_num_samples < 2:
            raise ValueError("fid_num_samples must be ≥ 2 (the paper uses 50,000)")


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What a run reached: its step, the FIDs it measured (None if FID was off) and, for the
    language model, the last (js1, …, jsN) (None if JSD was off)."""

    step: int
    last_fid: float | None
    best_fid: float | None
    best_fid_step: int | None
    last_js: tuple[float, ...] | None = None


def _optimizer(config: TrainConfig, lr: float, beta1: float, beta2: float):
    if config.optimizer == "rmsprop":
        # TF1 RMSPropOptimizer: decay 0.9, epsilon 1e-10 (the original wgan and lsgan modes).
        return keras.optimizers.RMSprop(lr, rho=0.9, epsilon=1e-10)
    return keras.optimizers.Adam(lr, beta_1=beta1, beta_2=beta2, epsilon=config.adam_epsilon)


def build_gan(config: TrainConfig, *, image_size: int | None = None,
              vocab_size: int | None = None) -> GAN:
    """The networks of ``config.model`` in a compiled ``GAN``: image models need ``image_size``,
    the language model ``vocab_size``."""
    if config.model == "language":
        if vocab_size is None:
            raise ValueError("the language model needs vocab_size")
        generator = language.build_generator(config.seq_len, vocab_size, config.dim)
        discriminator = language.build_discriminator(config.seq_len, vocab_size, config.dim)
        noise = dict(noise_dim=language.NOISE_DIM, noise_distribution="normal",
                     sample_in_training_mode=True)
    elif image_size is None:
        raise ValueError(f"the {config.model} model needs image_size")
    elif config.model == "dcgan":
        generator = dcgan.build_generator(image_size, config.dim)
        discriminator = dcgan.build_discriminator(image_size, config.dim)
        noise = dict(noise_dim=dcgan.NOISE_DIM, noise_distribution="uniform",
                     sample_in_training_mode=False)
    else:
        generator = wgan_gp_resnet.build_generator(image_size, config.dim)
        normalization = "layer" if config.loss == "wgan-gp" else "batch"
        discriminator = wgan_gp_resnet.build_discriminator(image_size, config.dim, normalization)
        noise = dict(noise_dim=generator.input_shape[-1], noise_distribution="normal",
                     sample_in_training_mode=True)
    gan = GAN(generator, discriminator, loss=config.loss, n_critic=config.n_critic,
              gp_weight=config.gp_weight, seed=config.seed, **noise)
    gan.compile(
        d_optimizer=_optimizer(config, config.d_lr, config.d_beta1, config.d_beta2),
        g_optimizer=_optimizer(config, config.g_lr, config.g_beta1, config.g_beta2),
        jit_compile=config.jit_compile,
    )
    return gan


def _reference_statistics(config: TrainConfig, data, features, logdir: Path):
    if config.fid_stats:
        path = Path(config.fid_stats)
        if not path.is_file():
            raise FileNotFoundError(
                f"FID statistics file {path} does not exist: download the original's file or "
                "compute one with scripts/precalc_stats.py, or leave --fid_stats empty to compute "
                "it from the training data"
            )
        reference = load_statistics(path)
    else:
        cached = logdir / _REFERENCE_STATS_FILE
        if cached.is_file():
            reference = load_statistics(cached)
        else:
            logging.info("computing FID statistics of %s (%d images) once; cached in %s",
                         data.name, data.num_images, cached)
            reference = compute_statistics(
                image_data.uint8_images(data), features, batch_size=config.fid_batch_size,
                graph_sha256=features.graph_sha256,
            )
            reference.save(cached)
    if reference.image_size not in (None, (data.image_size, data.image_size)):
        logging.warning(
            "the FID reference statistics were computed on %s images but training images are "
            "%d×%d: the FID will not be comparable with published values",
            reference.image_size, data.image_size, data.image_size,
        )
    return reference


@dataclasses.dataclass
class _Task:
    """What differs between image and language training; the loop around it is shared."""

    gan: GAN
    batches: Callable[[int], tf.data.Dataset]  # start step → single training batches
    callbacks: list  # sample writers and evaluators
    tracked: dict  # their checkpointed variables
    fid: callbacks_lib.FIDEvaluator | None = None
    jsd: callbacks_lib.JSDEvaluator | None = None


def _image_task(config: TrainConfig, logdir: Path, writer) -> _Task:
    data = image_data.load_image_data(config.dataset, config.image_size)
    gan = build_gan(config, image_size=data.image_size)
    fixed_noise = gan.numpy_noise(np.random.default_rng([config.seed, 1]), _SAMPLE_GRID_SIZE)
    task = _Task(
        gan,
        lambda start_step: image_data.training_batches(
            data, config.batch_size, config.seed, start_step * config.n_critic * config.batch_size),
        [callbacks_lib.SampleGridWriter(writer, config.sample_every, logdir / "samples",
                                        fixed_noise)],
        {},
    )
    if config.fid_every:
        features = InceptionFeatures(config.inception_path or None)
        reference = _reference_statistics(config, data, features, logdir)
        task.fid = callbacks_lib.FIDEvaluator(
            writer, config.fid_every, features, reference, config.fid_num_samples,
            config.fid_sample_batch_size, config.fid_batch_size, config.seed,
        )
        task.callbacks.append(task.fid)
        task.tracked.update(best_fid=task.fid.best_fid, best_fid_step=task.fid.best_fid_step)
    return task


def _language_task(config: TrainConfig, logdir: Path, writer, resuming: bool) -> _Task:
    charmap_path = logdir / _CHARMAP_FILE
    charmap = None
    if charmap_path.is_file():
        charmap = text_data.CharMap.load(charmap_path)
    elif resuming:
        raise FileNotFoundError(
            f"{charmap_path} is missing: the checkpoints in {logdir} use its character ids. "
            "Restore the file, or train in a new --logdir"
        )
    data = text_data.load_text_data(config.dataset, config.seq_len, config.max_n_examples,
                                    config.max_vocab_size, charmap)
    if charmap is None:
        data.charmap.save(charmap_path)
    logging.info("%s: %d lines of %d characters, %d character ids", data.name, data.num_lines,
                 data.seq_len, data.charmap.vocab_size)
    vocab_size = data.charmap.vocab_size
    gan = build_gan(config, vocab_size=vocab_size)
    task = _Task(
        gan,
        lambda start_step: text_data.training_batches(
            data.lines, config.batch_size, config.seed, start_step * config.n_critic,
        ).map(lambda ids: tf.one_hot(ids, vocab_size)),
        [],
        {},
    )
    if config.jsd_every:
        logging.info("building the n-gram models (n = 1…%d) of the training lines",
                     config.jsd_ngrams)
        references = [NgramLanguageModel(n, data.lines) for n in range(1, config.jsd_ngrams + 1)]
        task.jsd = callbacks_lib.JSDEvaluator(
            writer, config.jsd_every, references, data.charmap.decode, config.jsd_num_batches,
            config.batch_size, logdir / "samples", config.seed,
        )
        task.callbacks.append(task.jsd)
    return task


def train(config: TrainConfig, extra_callbacks=()) -> TrainResult:
    """Trains (or resumes) the run described by ``config``; see the module docstring.

    Args:
        config: the run.
        extra_callbacks: more Keras callbacks, run after the built-in ones.

    Raises:
        ValueError, FileNotFoundError: bad settings or inputs, with what to do.
        ttur_tf.callbacks.NonFiniteLossError: a loss became NaN/Inf (the last good checkpoint
            is kept).
    """
    config.validate()
    keras.utils.set_random_seed(config.seed)  # the networks' initial weights come from the seed
    logdir = Path(config.logdir)
    checkpoint_dir = logdir / "checkpoints"
    resuming = tf.train.latest_checkpoint(str(checkpoint_dir)) is not None
    if resuming and not config.resume:
        raise ValueError(
            f"{checkpoint_dir} already holds checkpoints and resuming is off: pass a new "
            "--logdir (nothing there is overwritten), or resume"
        )
    logdir.mkdir(parents=True, exist_ok=True)
    writer = tf.summary.create_file_writer(str(logdir))
    if config.model == "language":
        task = _language_task(config, logdir, writer, resuming)
    else:
        task = _image_task(config, logdir, writer)
    gan = task.gan

    checkpoint = tf.train.Checkpoint(
        generator=gan.generator, discriminator=gan.discriminator, d_optimizer=gan.d_optimizer,
        g_optimizer=gan.g_optimizer, step=gan.step, noise_seed=gan.noise_seed_state,
        **task.tracked,
    )
    manager = tf.train.CheckpointManager(checkpoint, str(checkpoint_dir), config.max_checkpoints)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        logging.info("resumed from %s at step %d", manager.latest_checkpoint, int(gan.step))
    write_bytes_atomically(
        logdir / "config.json",
        json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True).encode(),
    )

    start_step = int(gan.step.numpy())
    if start_step < config.steps:
        callbacks = [
            callbacks_lib.StopOnNonFiniteLoss(checkpoint_dir),
            callbacks_lib.ScalarLogger(writer, config.log_every),
            *task.callbacks,
            callbacks_lib.CheckpointSaver(manager, config.checkpoint_every),
        ]
        gan.fit(
            stack_critic_batches(task.batches(start_step), config.n_critic),
            epochs=1,
            steps_per_epoch=config.steps - start_step,
            callbacks=callbacks + list(extra_callbacks),
            verbose=0,
            shuffle=False,
        )
    writer.flush()
    fid = task.fid
    has_fid = fid is not None and int(fid.best_fid_step.numpy()) >= 0
    return TrainResult(
        step=int(gan.step.numpy()),
        last_fid=fid.last_fid if fid is not None else None,
        best_fid=float(fid.best_fid.numpy()) if has_fid else None,
        best_fid_step=int(fid.best_fid_step.numpy()) if has_fid else None,
        last_js=tuple(task.jsd.last_js) if task.jsd is not None and task.jsd.last_js else None,
    )
