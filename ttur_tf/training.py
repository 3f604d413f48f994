"""Training a GAN with TTUR: the library behind scripts/train_wgan_gp.py and train_dcgan.py.

``train(TrainConfig(...))`` builds the data pipeline, the networks, the ``GAN`` with its two
optimizers, the checkpoint and the callbacks, resumes from the latest checkpoint in ``logdir``, and
trains until ``steps`` steps are done. Image and language models share this loop; only the data,
the networks and the evaluation differ. Everything a run writes is under ``logdir``:

* TensorBoard events: the settings as HParams; ``d_loss``, ``g_loss``, ``gradient_penalty``,
  ``wasserstein``, ``elapsed_seconds`` (the run's wall clock, summed over resumes); for images
  ``fid``, ``best_fid`` (and the other ``--metrics``) and a
  ``samples`` image; for text ``js1``…``js6`` and ``samples`` text;
* ``samples/`` (PNG grids, or ``samples_<step>.txt``), ``checkpoints/``, ``config.json``;
* images: the training data's FID statistics (``reference_stats.npz``) when no ``fid_stats`` file
  is given; text: the character map (``charmap.json``) that the checkpoints' ids refer to.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from tensorboard.plugins.hparams import api as hparams_api

from ttur_tf import augment
from ttur_tf import callbacks as callbacks_lib
from ttur_tf.checkpoints import RunCheckpoints, checkpoint_files
from ttur_tf.classes import CLASSES_FILE, check_classes, class_grid_inputs
from ttur_tf.config import TrainConfig, settings_that_changed
from ttur_tf.data import images as image_data
from ttur_tf.data import text as text_data
from ttur_tf.distribute import is_chief, make_strategy, replica_batches, scratch_folder
from ttur_tf.errors import CheckpointError
from ttur_tf.files import check_writable_folder, remove_stale_temporaries, write_bytes_atomically
from ttur_tf.fid import InceptionFeatures, compute_statistics, load_statistics
from ttur_tf.gan import GAN, stack_critic_batches
from ttur_tf.generator_average import GeneratorAverage
from ttur_tf.interrupts import Interrupted, PendingEvaluations, StopRequests
from ttur_tf.metrics.image_metrics import collect_features, parse_metrics
from ttur_tf.metrics.kid_schedule import KidAdaptiveSchedule
from ttur_tf.metrics.ngram import NgramLanguageModel
from ttur_tf.models.orthogonal import kernels_of, orthogonal_penalty, orthogonally_initialize
from ttur_tf.models.registry import Networks, model_entry
from ttur_tf.models.spectral_norm import spectrally_normalized
from ttur_tf.run_lock import LOCK_FILE, RunLock

__all__ = ["TrainConfig", "TrainResult", "build_gan", "train"]

_SAMPLE_GRID_SIZE = 64
_REFERENCE_STATS_FILE = "reference_stats.npz"
_CHARMAP_FILE = "charmap.json"
_CONFIG_FILE = "config.json"
_CHECKPOINT_FOLDER = "checkpoints"
_PENDING_FILE = "pending_evaluations.json"  # evaluations a signal abandoned, redone on resume


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What a run reached: its step, the FIDs it measured (None if FID was off) and, for the
    language model, the last and the best (js1, …, jsN) and the file of the last evaluation's
    generated lines, one per line (None if JSD was off)."""

    step: int
    last_fid: float | None
    best_fid: float | None
    best_fid_step: int | None
    last_scores: dict[str, float] | None = None
    last_js: tuple[float, ...] | None = None
    best_js: tuple[float, ...] | None = None
    last_samples_file: Path | None = None


def _optimizer(config: TrainConfig, lr: float, beta1: float, beta2: float):
    if config.optimizer == "rmsprop":
        # TF1 RMSPropOptimizer: decay 0.9, epsilon 1e-10 (the original wgan and lsgan modes).
        optimizer = keras.optimizers.RMSprop(lr, rho=0.9, epsilon=1e-10)
    else:
        optimizer = keras.optimizers.Adam(lr, beta_1=beta1, beta_2=beta2,
                                          epsilon=config.adam_epsilon)
    if config.mixed_precision == "mixed_float16":
        # float16 gradients underflow: the loss is scaled up (dynamically) and the gradients
        # down again; a step whose gradients overflow is skipped and the scale halved.
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


@contextlib.contextmanager
def _compute_precision(mixed_precision: str):
    """Layers made inside compute in ``mixed_precision`` ("off": float32); the policy in force
    before is restored after, so that nothing else is affected."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32" if mixed_precision == "off" else mixed_precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _networks(config: TrainConfig, image_size: int | None, vocab_size: int | None,
              num_classes: int) -> Networks:
    """The registered networks of ``config.model`` (conditional on ``num_classes`` classes if
    it is > 0), spectrally normalized as configured."""
    entry = model_entry(config.model)
    size = vocab_size if entry.data == "text" else image_size
    if size is None:
        raise ValueError(f"the {config.model} model needs "
                         f"{'vocab_size' if entry.data == 'text' else 'image_size'}")
    if num_classes and not entry.conditional:
        raise ValueError(f"model={config.model} has no class-conditional networks")
    networks = (entry.build(config, size, num_classes=num_classes) if num_classes
                else entry.build(config, size))
    if config.spectral_norm in ("discriminator", "both"):
        networks = dataclasses.replace(
            networks, discriminator=spectrally_normalized(networks.discriminator))
    if config.spectral_norm == "both":
        networks = dataclasses.replace(networks,
                                       generator=spectrally_normalized(networks.generator))
    if config.orthogonal_init:
        orthogonally_initialize(networks.generator, config.seed)
        orthogonally_initialize(networks.discriminator, config.seed + 1)
    return networks


def _augmentation(config: TrainConfig):
    """DiffAugment with ``config.diffaugment``'s policies (None when empty)."""
    policies = augment.parse_policies(config.diffaugment)
    if not policies:
        return None
    return lambda images, seed: augment.diff_augment(images, policies, seed)


def _generator_penalty(config: TrainConfig, generator: keras.Model):
    """BigGAN's orthogonal regularization of ``generator``'s kernels (None when off)."""
    if not config.ortho_reg:
        return None
    kernels = kernels_of(generator)
    return lambda: config.ortho_reg * orthogonal_penalty(kernels)


def build_gan(config: TrainConfig, *, image_size: int | None = None,
              vocab_size: int | None = None, num_classes: int = 0,
              class_frequencies=None) -> GAN:
    """The networks of ``config.model`` in a compiled ``GAN``: image models need ``image_size``,
    text models (``language``) ``vocab_size``, class-conditional ones (``config.conditional``)
    ``num_classes`` and optionally the classes' shares of the data (``class_frequencies``; default
    uniform). Per-model defaults of ``config`` are resolved here. Call it inside the run's
    ``tf.distribute`` strategy scope (if any): its variables are made there."""
    config = config.resolved()
    if config.conditional and num_classes < 1:
        raise ValueError("a class-conditional GAN needs num_classes ≥ 1 (read from the data)")
    num_classes = num_classes if config.conditional else 0
    with _compute_precision(config.mixed_precision):
        networks = _networks(config, image_size, vocab_size, num_classes)
    gan = GAN(networks.generator, networks.discriminator, loss=config.loss,
              n_critic=config.n_critic, gp_weight=config.gp_weight, seed=config.seed,
              regularizer=config.regularizer or None,
              regularizer_weight=config.regularizer_weight,
              instance_noise=config.instance_noise, anneal_steps=config.steps,
              update_rule=config.update_rule, noise_dim=networks.noise_dim,
              noise_distribution=networks.noise_distribution,
              sample_in_training_mode=networks.sample_in_training_mode,
              generator_penalty=_generator_penalty(config, networks.generator),
              generator_average=(GeneratorAverage(networks.generator, config.ema_decay,
                                                  config.ema_start_step)
                                 if config.ema_decay else None),
              augment=_augmentation(config), num_classes=num_classes,
              class_frequencies=class_frequencies)
    gan.compile(
        d_optimizer=_optimizer(config, config.d_lr, config.d_beta1, config.d_beta2),
        g_optimizer=_optimizer(config, config.g_lr, config.g_beta1, config.g_beta2),
        jit_compile=config.jit_compile,
    )
    return gan


def _feature_dim(features, image_size: int) -> int:
    """The length of the feature vectors ``features`` returns (one black image is run)."""
    return int(np.asarray(features(np.zeros((1, image_size, image_size, 3), np.uint8))).shape[1])


def _kid_schedule(config: TrainConfig) -> KidAdaptiveSchedule | None:
    if config.lr_schedule != "kid_adaptive":
        return None
    return KidAdaptiveSchedule(config.lr_test_samples, config.lr_test_memory, config.lr_patience,
                               config.lr_decay_factor, config.lr_test_p_value)


def _keeps_features(config: TrainConfig) -> bool:
    return bool({"kid", "pr"} & set(parse_metrics(config.metrics)))


def _statistics_of_training_images(config: TrainConfig, data, features):
    """The training images' statistics, with their features if a metric compares features."""
    sha = getattr(features, "graph_sha256", "")
    if not _keeps_features(config):
        return compute_statistics(image_data.uint8_images(data), features,
                                  batch_size=config.fid_batch_size, graph_sha256=sha)
    batches = image_data.uint8_images(data).batch(config.fid_batch_size).as_numpy_iterator()
    collector, image_size = collect_features(batches, features, ("fid", "kid"))
    return collector.statistics(image_size, sha)


def _reference_statistics(config: TrainConfig, data, features, logdir: Path):
    """The statistics FID compares with, checked against the features before training starts."""
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
        path = logdir / _REFERENCE_STATS_FILE
        if path.is_file():
            reference = load_statistics(path)
        else:
            logging.info("computing FID statistics of %s (%d images) once; cached in %s",
                         data.name, data.num_images, path)
            reference = _statistics_of_training_images(config, data, features)
            reference.save(path)
    if _keeps_features(config) and reference.features is None:
        raise ValueError(
            f"metrics={config.metrics}: KID and precision/recall compare features, and {path} "
            "holds only mu and sigma: write it with precalc_stats.py --features (or leave "
            "--fid_stats empty to compute it from the training data)"
            if config.fid_stats else
            f"metrics={config.metrics}: the cached {path} was written without features (for "
            "fid alone); delete it to compute it again with them")
    dim = _feature_dim(features, data.image_size)
    if reference.mu.shape != (dim,):
        raise ValueError(
            f"the FID statistics {path} are {reference.mu.shape[0]}-dimensional but the features "
            f"are {dim}-dimensional (the Inception graph's pool_3 has 2048): they were not "
            "computed with these features. Use the original's statistics file or compute one with "
            "scripts/precalc_stats.py"
        )
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
    batches: Callable[[int, slice], tf.data.Dataset]  # (start step, rows kept) → batches
    callbacks: list  # sample writers and the JSD evaluator (run by the chief only)
    tracked: dict  # their checkpointed variables
    explain_data_error: Callable[[Exception], Exception | None]  # a user error naming the input
    image_metrics: callbacks_lib.ImageMetricsEvaluator | None = None  # run by every worker
    jsd: callbacks_lib.JSDEvaluator | None = None


def _image_task(config: TrainConfig, logdir: Path, writer, features, chief: bool,
                strategy, stop_requests: StopRequests | None) -> _Task:
    """The image data, networks and evaluators. FID runs on every worker (each computes a share
    of the samples' features); only the chief needs the reference statistics."""
    data = image_data.load_image_data(config.dataset, config.image_size,
                                      labelled=config.conditional)
    grid_rng = np.random.default_rng([config.seed, 1])
    if config.conditional:
        if config.num_classes and config.num_classes != data.num_classes:
            raise ValueError(f"num_classes={config.num_classes}, but {data.name} has "
                             f"{data.num_classes} classes {list(data.class_names)}")
        check_classes(logdir / CLASSES_FILE, data, write=chief)
        gan = build_gan(config, image_size=data.image_size, num_classes=data.num_classes,
                        class_frequencies=data.class_frequencies())
        grid_inputs, columns, description = class_grid_inputs(gan, grid_rng, data.class_names)
    else:
        gan = build_gan(config, image_size=data.image_size)
        grid_inputs, columns, description = (gan.numpy_noise(grid_rng, _SAMPLE_GRID_SIZE),
                                             None, None)
    training_data = image_data.decoded_in_memory(data)
    task = _Task(
        gan,
        lambda start_step, rows: image_data.training_batches(
            training_data, config.batch_size, config.seed,
            start_step * config.n_critic * config.batch_size, rows),
        [callbacks_lib.SampleGridWriter(writer, config.sample_every, logdir / "samples",
                                        grid_inputs, columns, description)],
        {},
        data.find_unreadable,
    )
    if config.fid_every:
        features = features or InceptionFeatures(config.inception_path or None)
        reference = _reference_statistics(config, data, features, logdir) if chief else None
        task.image_metrics = callbacks_lib.ImageMetricsEvaluator(
            writer, config.fid_every, features, reference, config.fid_num_samples,
            config.fid_sample_batch_size, config.fid_batch_size, config.seed, strategy,
            parse_metrics(config.metrics), _kid_schedule(config), stop_requests,
        )
        task.tracked.update(task.image_metrics.tracked)
    return task


def _language_task(config: TrainConfig, logdir: Path, writer, resuming: bool,
                   chief: bool, stop_requests: StopRequests | None) -> _Task:
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
                                    config.max_vocab_size, charmap, encoding=config.encoding)
    if charmap is None and chief:
        data.charmap.save(charmap_path)
    logging.info("%s: %d lines of %d characters, %d character ids", data.name, data.num_lines,
                 data.seq_len, data.charmap.vocab_size)
    vocab_size = data.charmap.vocab_size
    gan = build_gan(config, vocab_size=vocab_size)
    task = _Task(
        gan,
        lambda start_step, rows: text_data.training_batches(
            data.lines, config.batch_size, config.seed, start_step * config.n_critic, rows,
        ).map(lambda ids: tf.one_hot(ids, vocab_size)),
        [],
        {},
        lambda error: None,  # the lines are in memory: a failure there is not the input's
    )
    if config.jsd_every:
        logging.info("building the n-gram models (n = 1…%d) of the training lines",
                     config.jsd_ngrams)
        references = [NgramLanguageModel(n, data.lines) for n in range(1, config.jsd_ngrams + 1)]
        task.jsd = callbacks_lib.JSDEvaluator(
            writer, config.jsd_every, references, data.charmap.decode, config.jsd_num_batches,
            config.batch_size, logdir / "samples", config.seed, stop_requests,
        )
        task.callbacks.append(task.jsd)
        task.tracked.update(best_js=task.jsd.best_js, best_js_step=task.jsd.best_js_step)
    return task


def _check_outputs(logdir: Path) -> None:
    """Fails early (before data and networks) if the run's folders cannot be written, and
    removes temporary files a killed earlier run left there."""
    for folder in (logdir, logdir / "samples", logdir / _CHECKPOINT_FOLDER):
        check_writable_folder(folder)
        remove_stale_temporaries(folder)


def _check_same_networks(logdir: Path, config: TrainConfig) -> None:
    """Refuses to resume checkpoints written with settings that build other networks."""
    saved = logdir / _CONFIG_FILE
    try:
        changed = settings_that_changed(saved, config)
    except (OSError, ValueError) as error:  # no config.json (or not JSON): restore decides
        logging.warning("cannot compare with the settings of the checkpoints in %s (%s)",
                        logdir, error)
        return
    networks = {name: values for name, values in changed.items()
                if TrainConfig.setting(name).shapes_networks}
    if networks:
        listing = ", ".join(f"{name} {old!r} (now {new!r})" for name, (old, new) in networks.items())
        raise CheckpointError(
            f"{logdir} was written with other settings: {listing}. Its checkpoints hold other "
            "networks (or evaluation values): rerun with the settings in its config.json, or use a new --logdir"
        )
    if changed:
        logging.info("resuming %s with changed settings: %s", logdir, ", ".join(
            f"{name} {old!r} → {new!r}" for name, (old, new) in changed.items()))


def _log_settings(writer, config: TrainConfig) -> None:
    """The run's settings as TensorBoard HParams (learning rates, n_critic, loss, seed, …), so
    that runs can be filtered and compared by them next to their logged best metrics."""
    settings = {name: value for name, value in dataclasses.asdict(config).items()
                if isinstance(value, (bool, int, float, str))}
    with callbacks_lib.writing_events(), writer.as_default(step=0):
        hparams_api.hparams(settings, trial_id=str(config.logdir))


def _device_list(devices: str) -> tuple[str, ...]:
    return tuple(device.strip() for device in devices.split(",") if device.strip())


def train(config: TrainConfig, extra_callbacks=(), features=None) -> TrainResult:
    """Trains (or resumes) the run described by ``config``; see the module docstring.

    SIGINT (Ctrl-C) and SIGTERM end the run at a step boundary: the steps done are saved in a
    checkpoint, the events flushed, and ``Interrupted`` (with its ``step``) is raised; the same
    call resumes exactly. A second signal ends the process at once (``ttur_tf.interrupts``). In
    a multi-worker run a signal on any worker stops every worker at the same step.

    Args:
        config: the run.
        extra_callbacks: more Keras callbacks, run after the built-in ones.
        features: maps uint8 image batches (B, H, W, 3) to features (B, d) for FID, in place of
            the Inception graph (another network, or a small function in tests); default: the
            original graph found from ``config.inception_path``.

    Raises:
        ValueError, FileNotFoundError: bad settings or inputs, with what to do.
        OutputError: the run's folder cannot be written.
        CheckpointError: checkpoints exist that cannot be resumed with these settings.
        ttur_tf.errors.NonFiniteLossError: a loss became NaN/Inf (the last good checkpoint
            is kept).
        ttur_tf.interrupts.Interrupted: a signal stopped the run (its ``step`` is saved; None
            if it came before training started).
    """
    config.validate()
    config = config.resolved()
    strategy = make_strategy(config.strategy, _device_list(config.devices), config.tpu)
    chief = is_chief(strategy)
    logdir = Path(config.logdir)
    with contextlib.ExitStack() as stack:
        if chief:  # the only process that writes the run's folder
            stack.enter_context(RunLock(logdir / LOCK_FILE, f"the log folder {logdir}",
                                        "use another --logdir"))
        pending = PendingEvaluations(logdir / _CHECKPOINT_FOLDER / _PENDING_FILE)
        stop_requests = stack.enter_context(
            StopRequests(pending, sections_abort=config.strategy != "multi_worker"))
        return _train(config, strategy, chief, stop_requests, extra_callbacks, features)


def _train(config: TrainConfig, strategy, chief: bool, stop_requests: StopRequests,
           extra_callbacks, features) -> TrainResult:
    logdir = Path(config.logdir)
    checkpoint_dir = logdir / _CHECKPOINT_FOLDER
    with stop_requests.abortable():  # a signal before the first step leaves everything as it was
        resuming = bool(checkpoint_files(checkpoint_dir))
        if resuming and not config.resume:
            raise ValueError(
                f"{checkpoint_dir} already holds checkpoints and resuming is off: pass a new "
                "--logdir (nothing there is overwritten), or resume"
            )
        if chief:
            _check_outputs(logdir)
        if resuming:
            _check_same_networks(logdir, config)
        keras.utils.set_random_seed(config.seed)  # the initial weights come from the seed
        writer = (tf.summary.create_file_writer(str(logdir)) if chief
                  else tf.summary.create_noop_writer())
        with strategy.scope():  # networks, optimizers, step and tracked values are made here
            if model_entry(config.model).data == "text":
                task = _language_task(config, logdir, writer, resuming, chief, stop_requests)
            else:
                task = _image_task(config, logdir, writer, features, chief, strategy,
                                   stop_requests)
            gan = task.gan
            elapsed = callbacks_lib.ElapsedTime(writer, config.log_every)
            checkpoint = tf.train.Checkpoint(**gan.training_state, elapsed_seconds=elapsed.seconds,
                                             **task.tracked)
        checkpoints = RunCheckpoints(checkpoint, checkpoint_dir, config.max_checkpoints,
                                     scratch=scratch_folder(strategy, checkpoint_dir))
        restored = checkpoints.restore_latest()
        if restored is not None:
            logging.info("resumed from %s at step %d", checkpoint_dir / f"ckpt-{restored}",
                         int(gan.step.numpy()))
        if chief:
            write_bytes_atomically(logdir / _CONFIG_FILE, config.to_json().encode())
            _log_settings(writer, config)

    start_step = int(gan.step.numpy())
    if start_step < config.steps:
        saver = callbacks_lib.CheckpointSaver(checkpoints, config.checkpoint_every,
                                              stop_requests.pending if chief else None)
        if config.strategy == "multi_worker":  # the workers agree on the step to stop at
            stop = callbacks_lib.WorkersStopTogether(strategy, checkpoints.manager, saver,
                                                     stop_requests)
        else:
            stop = callbacks_lib.StopOnSignal(stop_requests)
        callbacks = [
            elapsed,
            callbacks_lib.StopOnNonFiniteLoss(checkpoint_dir),
            callbacks_lib.ScalarLogger(writer, config.log_every),
            *(task.callbacks if chief else []),
            *([task.image_metrics] if task.image_metrics else []),  # every worker takes a share
            saver,
            *extra_callbacks,
            stop,
        ]
        data = replica_batches(
            strategy,
            lambda rows: stack_critic_batches(task.batches(start_step, rows), config.n_critic),
            config.batch_size,
        )
        try:
            gan.fit(data, epochs=1, steps_per_epoch=config.steps - start_step,
                    callbacks=callbacks, verbose=0, shuffle=False)
        except Interrupted as interrupted:
            interrupted.step = int(gan.step.numpy())
            if interrupted.step > start_step:
                saver.save_unless_saved()
            elif restored is None:  # stopped before the first step of a new run
                interrupted.step = None
            with callbacks_lib.writing_events():
                writer.flush()
            raise
        except tf.errors.OpError as error:
            explained = task.explain_data_error(error)
            if explained is None:
                raise
            raise explained from error
    with callbacks_lib.writing_events():
        writer.flush()
    fid = task.image_metrics
    has_fid = fid is not None and int(fid.best_fid_step.numpy()) >= 0
    return TrainResult(
        step=int(gan.step.numpy()),
        last_fid=fid.last_fid if fid is not None else None,
        last_scores=dict(fid.last_scores) if fid is not None else None,
        best_fid=float(fid.best_fid.numpy()) if has_fid else None,
        best_fid_step=int(fid.best_fid_step.numpy()) if has_fid else None,
        last_js=tuple(task.jsd.last_js) if task.jsd is not None and task.jsd.last_js else None,
        best_js=(tuple(task.jsd.best_js.numpy().tolist())
                 if task.jsd is not None and task.jsd.last_js else None),
        last_samples_file=task.jsd.last_samples_file if task.jsd is not None else None,
    )
