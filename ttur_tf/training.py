"""Training an image GAN with TTUR: the library behind scripts/train_wgan_gp.py and train_dcgan.py.

``train(TrainConfig(...))`` builds the data pipeline, the networks, the ``GAN`` with its two
optimizers, the checkpoint and the callbacks, resumes from the latest checkpoint in ``logdir``, and
trains until ``steps`` steps are done. Everything it writes is under ``logdir``:
TensorBoard events (``d_loss``, ``g_loss``, ``gradient_penalty``, ``wasserstein``, ``fid``,
``best_fid``, a ``samples`` image), ``samples/*.png``, ``checkpoints/``, ``config.json`` and, when
no ``fid_stats`` file is given, the training data's FID statistics (``reference_stats.npz``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from ttur_tf import callbacks as callbacks_lib
from ttur_tf import losses
from ttur_tf.data import images as image_data
from ttur_tf.files import write_bytes_atomically
from ttur_tf.fid import InceptionFeatures, compute_statistics, load_statistics
from ttur_tf.gan import GAN, stack_critic_batches
from ttur_tf.models import dcgan, wgan_gp_resnet

__all__ = ["MODELS", "OPTIMIZERS", "TrainConfig", "TrainResult", "build_gan", "train"]

MODELS = ("resnet", "dcgan")
OPTIMIZERS = ("adam", "rmsprop")
_SAMPLE_GRID_SIZE = 64
_REFERENCE_STATS_FILE = "reference_stats.npz"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults are the original WGAN-GP script's TTUR setting.

    Learning rates, betas and n_critic are per network (``d_``/``g_``): the two time scales.
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

    def validate(self) -> None:
        """Raises ValueError naming the first out-of-range setting."""
        choices = {"model": MODELS, "loss": tuple(losses.LOSSES), "optimizer": OPTIMIZERS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        positive = ("dim", "n_critic", "batch_size", "steps", "log_every", "sample_every",
                    "checkpoint_every", "max_checkpoints", "fid_num_samples",
                    "fid_sample_batch_size", "fid_batch_size")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        for name in ("d_lr", "g_lr", "adam_epsilon"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("d_beta1", "d_beta2", "g_beta1", "g_beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.gp_weight < 0 or self.fid_every < 0:
            raise ValueError("gp_weight and fid_every must be ≥ 0")
        if self.fid_every and self.fid_num_samples < 2:
            raise ValueError("fid_num_samples must be ≥ 2 (the paper uses 50,000)")


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What a run reached: its step, and the FIDs it measured (None if FID was off)."""

    step: int
    last_fid: float | None
    best_fid: float | None
    best_fid_step: int | None


def _optimizer(config: TrainConfig, lr: float, beta1: float, beta2: float):
    if config.optimizer == "rmsprop":
        # TF1 RMSPropOptimizer: decay 0.9, epsilon 1e-10 (the original wgan and lsgan modes).
        return keras.optimizers.RMSprop(lr, rho=0.9, epsilon=1e-10)
    return keras.optimizers.Adam(lr, beta_1=beta1, beta_2=beta2, epsilon=config.adam_epsilon)


def build_gan(config: TrainConfig, image_size: int) -> GAN:
    """The networks of ``config.model`` at ``image_size``, in a compiled ``GAN``."""
    if config.model == "dcgan":
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
    data = image_data.load_image_data(config.dataset, config.image_size)
    logdir.mkdir(parents=True, exist_ok=True)
    gan = build_gan(config, data.image_size)

    features = reference = None
    if config.fid_every:
        features = InceptionFeatures(config.inception_path or None)
        reference = _reference_statistics(config, data, features, logdir)

    writer = tf.summary.create_file_writer(str(logdir))
    fid_callback = None
    if config.fid_every:
        fid_callback = callbacks_lib.FIDEvaluator(
            writer, config.fid_every, features, reference, config.fid_num_samples,
            config.fid_sample_batch_size, config.fid_batch_size, config.seed,
        )
    tracked = dict(generator=gan.generator, discriminator=gan.discriminator,
                   d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer, step=gan.step,
                   noise_seed=gan.noise_seed_state)
    if fid_callback is not None:
        tracked.update(best_fid=fid_callback.best_fid, best_fid_step=fid_callback.best_fid_step)
    checkpoint = tf.train.Checkpoint(**tracked)
    checkpoint_dir = logdir / "checkpoints"
    manager = tf.train.CheckpointManager(checkpoint, str(checkpoint_dir), config.max_checkpoints)
    if manager.latest_checkpoint:
        if not config.resume:
            raise ValueError(
                f"{checkpoint_dir} already holds checkpoints and resuming is off: pass a new "
                "--logdir (nothing there is overwritten), or resume"
            )
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        logging.info("resumed from %s at step %d", manager.latest_checkpoint, int(gan.step))
    write_bytes_atomically(
        logdir / "config.json",
        json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True).encode(),
    )

    start_step = int(gan.step.numpy())
    if start_step < config.steps:
        consumed = start_step * config.n_critic * config.batch_size
        batches = image_data.training_batches(data, config.batch_size, config.seed, consumed)
        fixed_noise = gan.numpy_noise(np.random.default_rng([config.seed, 1]), _SAMPLE_GRID_SIZE)
        callbacks = [
            callbacks_lib.StopOnNonFiniteLoss(checkpoint_dir),
            callbacks_lib.ScalarLogger(writer, config.log_every),
            callbacks_lib.SampleGridWriter(writer, config.sample_every, logdir / "samples",
                                           fixed_noise),
        ]
        if fid_callback is not None:
            callbacks.append(fid_callback)
        callbacks.append(callbacks_lib.CheckpointSaver(manager, config.checkpoint_every))
        gan.fit(
            stack_critic_batches(batches, config.n_critic),
            epochs=1,
            steps_per_epoch=config.steps - start_step,
            callbacks=callbacks + list(extra_callbacks),
            verbose=0,
            shuffle=False,
        )
    writer.flush()
    has_fid = fid_callback is not None and int(fid_callback.best_fid_step.numpy()) >= 0
    return TrainResult(
        step=int(gan.step.numpy()),
        last_fid=fid_callback.last_fid if fid_callback is not None else None,
        best_fid=float(fid_callback.best_fid.numpy()) if has_fid else None,
        best_fid_step=int(fid_callback.best_fid_step.numpy()) if has_fid else None,
    )
