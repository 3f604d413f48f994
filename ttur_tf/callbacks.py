"""Periodic work during GAN training, as Keras callbacks: scalars, samples, FID, JSD, checkpoints, NaN guard.

All of them read the model's global ``step`` (completed ``train_step``s, restored on resume), so
their schedules continue across restarts, and write only under the run's log directory. FID
(computed by ``ttur_tf.sample_statistics``, over every replica and worker) follows bioinf-jku/TTUR
``WGAN_GP/gan_64x64_FID.py``; the latest and the best FID (with its step) are logged — the paper
reports the best. The language GAN's JSD follows
``WGAN_GP/gan_language_JSD.py``: 10 batches of generated lines (argmax of each position's
character distribution) against n-gram models of all training lines, n = 1…6, logged as
``js1``…``js6`` with the decoded samples in ``samples_<step>.txt``. After a SIGINT/SIGTERM,
``StopOnSignal`` ends training at the step boundary; an evaluation under way is abandoned and
done again by the resumed run (``ttur_tf.interrupts``).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from ttur_tf.errors import NonFiniteLossError, OutputError, first_line
from ttur_tf.files import write_bytes_atomically
from ttur_tf.fid.stats import Statistics
from ttur_tf.interrupts import Interrupted, StopRequests
from ttur_tf.metrics.ngram import NgramLanguageModel
from ttur_tf.metrics.image_metrics import image_scores
from ttur_tf.metrics.kid_schedule import KidAdaptiveSchedule
from ttur_tf.sample_statistics import generated_features, to_uint8_like_the_original

__all__ = [
    "CheckpointSaver",
    "ElapsedTime",
    "ImageMetricsEvaluator",
    "JSDEvaluator",
    "NonFiniteLossError",
    "SampleGridWriter",
    "ScalarLogger",
    "StopOnNonFiniteLoss",
    "StopOnSignal",
    "WorkersStopTogether",
    "image_grid",
    "writing_events",
]


def _step(model) -> int:
    return int(model.step.numpy())


@contextlib.contextmanager
def writing_events():
    """Turns a failed write of the TensorBoard events file (a full disk…) into an
    ``OutputError`` that says what to do."""
    try:
        yield
    except tf.errors.OpError as error:
        raise OutputError(
            f"cannot write the TensorBoard events ({first_line(error)}); free some space or fix "
            "the folder's permissions, then rerun the same command: it resumes from the last "
            "checkpoint"
        ) from error


class _Evaluation(keras.callbacks.Callback):
    """An evaluation every ``every`` steps that a signal may abandon: its sampling and scoring
    are ``stop_requests.abortable()``; an abandoned step is recorded (``stop_requests.pending``)
    and evaluated again when the run resumes at that step."""

    name = "evaluation"

    def __init__(self, every: int, stop_requests: StopRequests | None = None):
        super().__init__()
        self.every = every
        self.stop_requests = stop_requests
        self._compared_with_generator = False

    def _compare_with_generator(self) -> bool:
        """Whether this evaluation also scores the trained generator beside its average: the
        first one in this process (not abandoned) of a GAN that keeps an average."""
        return self.model.generator_average is not None and not self._compared_with_generator

    @contextlib.contextmanager
    def _abandoned_on_signal(self, step: int):
        if self.stop_requests is None:
            yield
            return
        try:
            with self.stop_requests.abortable():
                yield
        except Interrupted:
            if self.stop_requests.pending is not None:
                self.stop_requests.pending.add(self.name, step)
            logging.info("the %s of step %d was abandoned; the resumed run does it again",
                         self.name, step)
            raise

    def _due_again(self, step: int) -> bool:
        pending = self.stop_requests.pending if self.stop_requests is not None else None
        return pending is not None and pending.due(self.name, step)

    def on_train_begin(self, logs=None):
        if self._due_again(_step(self.model)):
            self.evaluate(_step(self.model))

    def on_train_batch_end(self, batch, logs=None):
        step = _step(self.model)
        if step % self.every == 0:
            self.evaluate(step)


def image_grid(images: np.ndarray, columns: int | None = None) -> np.ndarray:
    """(N, H, W, C) → one (rows·H, columns·W, C) image, filled row by row, empty cells black;
    ``columns`` defaults to ⌈√N⌉."""
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    padded = np.zeros((rows * columns, height, width, channels), images.dtype)
    padded[:count] = images
    grid = padded.reshape(rows, columns, height, width, channels).transpose(0, 2, 1, 3, 4)
    return grid.reshape(rows * height, columns * width, channels)


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training with ``NonFiniteLossError`` when a logged loss is NaN or ±inf.

    Put it first: callbacks after it (the checkpoint saver) then never see the broken state, so
    the last checkpoint on disk is the last good one.
    """

    def __init__(self, checkpoint_dir: str | os.PathLike):
        super().__init__()
        self.checkpoint_dir = str(checkpoint_dir)

    def on_train_batch_end(self, batch, logs=None):
        bad = {name: float(value) for name, value in (logs or {}).items()
               if not np.isfinite(float(value))}
        if bad:
            listing = ", ".join(f"{name} = {value}" for name, value in bad.items())
            raise NonFiniteLossError(
                f"training stopped at step {_step(self.model)}: {listing}. The last good "
                f"checkpoint in {self.checkpoint_dir} is kept; lower the learning rates (or check "
                "the data for NaN/Inf) and rerun the same command to resume from it."
            )


class ElapsedTime(keras.callbacks.Callback):
    """The run's wall clock: seconds spent in training (steps and evaluations, summed over
    resumes; not the set-up before the first step), in a variable the checkpoint keeps and
    logged as ``elapsed_seconds`` every ``every`` steps. Sweeps align runs by it, as the paper
    compares TTUR and the original setting by wall-clock time. Put it first among the
    callbacks, so that a checkpoint saved at a step holds that step's time.

    Args:
        writer: the run's summary writer.
        every: the logging interval in steps.
    """

    def __init__(self, writer, every: int):
        super().__init__()
        self.writer = writer
        self.every = every
        self.seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False,
                                   name="elapsed_seconds")
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = time.monotonic() - float(self.seconds.numpy())

    def on_train_batch_end(self, batch, logs=None):
        self.seconds.assign(time.monotonic() - self._start)
        step = _step(self.model)
        if step % self.every == 0:
            with writing_events(), self.writer.as_default(step=step):
                tf.summary.scalar("elapsed_seconds", self.seconds)


class ScalarLogger(keras.callbacks.Callback):
    """Every ``every`` steps writes the mean of each metric since the last write, then resets it."""

    def __init__(self, writer, every: int):
        super().__init__()
        self.writer = writer
        self.every = every

    def on_train_batch_end(self, batch, logs=None):
        step = _step(self.model)
        if step % self.every:
            return
        with writing_events(), self.writer.as_default(step=step):
            for metric in self.model.metrics:
                tf.summary.scalar(metric.name, metric.result())
                metric.reset_state()
        logging.info(
            "step %d: %s", step, ", ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items())
        )


class SampleGridWriter(keras.callbacks.Callback):
    """Every ``every`` steps: a grid of samples from fixed generator inputs, as an image summary
    and a PNG.

    Args:
        writer: the TensorBoard summary writer.
        every: steps between grids.
        sample_dir: where the PNGs go (``samples_<step>.png``).
        inputs: the generator's fixed inputs (noise, or (noise, labels) for a conditional GAN).
        columns: samples per row (default: a square grid); a class-conditional grid has one
            class per row.
        description: the summary's description (e.g. which class each row shows).
    """

    def __init__(self, writer, every: int, sample_dir: str | os.PathLike, inputs,
                 columns: int | None = None, description: str | None = None):
        super().__init__()
        self.writer = writer
        self.every = every
        self.sample_dir = Path(sample_dir)
        self.inputs = inputs
        self.columns = columns
        self.description = description

    def on_train_batch_end(self, batch, logs=None):
        step = _step(self.model)
        if step % self.every:
            return
        grid = image_grid(to_uint8_like_the_original(self.model.generate(self.inputs)).numpy(),
                          self.columns)
        with writing_events(), self.writer.as_default(step=step):
            tf.summary.image("samples", grid[np.newaxis], description=self.description)
        write_bytes_atomically(
            self.sample_dir / f"samples_{step:08d}.png", tf.io.encode_png(grid).numpy()
        )


class ImageMetricsEvaluator(_Evaluation):
    """Every ``every`` steps: the image ``metrics`` of one set of generated samples, logged as
    ``fid``, ``kid``, ``kid_std``, ``inception_score``, ``inception_score_std``, ``precision``,
    ``recall`` (the ones asked for), each scored one with ``best_<name>`` and ``best_<name>_step``;
    with a KID-adaptive ``schedule``, also its test (``lr_test_p_value``) and the learning rates
    (``d_lr``, ``g_lr``), which it decays. With a generator average (``--ema_decay``) the
    samples come from it, and its first evaluation in a process also scores the trained
    generator itself, logged as ``<name>_no_average``: what the average buys.

    The best values are variables that a checkpoint keeps across restarts (``best_fid``,
    ``best_fid_step``; for the others, vectors ``best_scores`` and ``best_scores_step`` in the
    order of ``OTHER_SCORES``). Lower is better for fid and kid, higher for the others.
    Evaluation noise comes from NumPy seeded with (seed, step): it never advances the training
    noise, and an evaluation abandoned on a signal (``stop_requests``) gives the same scores
    when the resumed run does it again. The samples are split over the replicas and workers of
    ``strategy``; every worker must run the evaluator (the features' moments are merged between
    workers), but only one with the ``reference`` (the chief) computes, logs and keeps the scores.
    """

    name = "image metrics"
    OTHER_SCORES = ("kid", "inception_score", "precision", "recall")
    _HIGHER_IS_BETTER = {"inception_score", "precision", "recall"}

    def __init__(self, writer, every: int, features, reference: Statistics | None,
                 num_samples: int, sample_batch_size: int, inception_batch_size: int, seed: int,
                 strategy: tf.distribute.Strategy | None = None, metrics=("fid",),
                 schedule: KidAdaptiveSchedule | None = None,
                 stop_requests: StopRequests | None = None):
        super().__init__(every, stop_requests)
        self.writer = writer
        self.features = features
        self.reference = reference
        self.num_samples = num_samples
        self.sample_batch_size = sample_batch_size
        self.inception_batch_size = inception_batch_size
        self.seed = seed
        self.strategy = strategy
        self.metrics = tuple(metrics)
        self.schedule = schedule
        self.best_fid = tf.Variable(np.inf, dtype=tf.float64, trainable=False, name="best_fid")
        self.best_fid_step = tf.Variable(-1, dtype=tf.int64, trainable=False, name="best_fid_step")
        worst = [-np.inf if name in self._HIGHER_IS_BETTER else np.inf for name in self.OTHER_SCORES]
        self.best_scores = tf.Variable(worst, dtype=tf.float64, trainable=False, name="best_scores")
        self.best_scores_step = tf.Variable([-1] * len(self.OTHER_SCORES), dtype=tf.int64,
                                            trainable=False, name="best_scores_step")
        self.last_scores: dict[str, float] = {}

    @property
    def tracked(self) -> dict[str, tf.Variable]:
        """The variables a checkpoint must keep (the vectors only when other scores are asked)."""
        tracked = dict(best_fid=self.best_fid, best_fid_step=self.best_fid_step)
        if set(self.metrics) - {"fid"}:
            tracked.update(best_scores=self.best_scores, best_scores_step=self.best_scores_step)
        if self.schedule is not None:
            tracked.update(self.schedule.tracked)
        return tracked

    @property
    def last_fid(self) -> float | None:
        return self.last_scores.get("fid")

    def _keep_best(self, scores: dict[str, float], step: int) -> dict[str, tuple[float, int]]:
        best = {}
        if "fid" in scores:
            if scores["fid"] < float(self.best_fid.numpy()):
                self.best_fid.assign(scores["fid"])
                self.best_fid_step.assign(step)
            best["fid"] = float(self.best_fid.numpy()), int(self.best_fid_step.numpy())
        values, steps = self.best_scores.numpy(), self.best_scores_step.numpy()
        for index, name in enumerate(self.OTHER_SCORES):
            if name not in scores:
                continue
            sign = -1.0 if name in self._HIGHER_IS_BETTER else 1.0
            if sign * scores[name] < sign * values[index]:
                values[index], steps[index] = scores[name], step
            best[name] = float(values[index]), int(steps[index])
        self.best_scores.assign(values)
        self.best_scores_step.assign(steps)
        return best

    def _scores(self, step: int, average: bool) -> tuple[dict[str, float], object]:
        collector = generated_features(
            self.model, self.features, self.num_samples, self.sample_batch_size,
            self.inception_batch_size, np.random.default_rng([self.seed, step]),
            self.strategy, self.metrics, average)
        if self.reference is None:
            return {}, collector
        return image_scores(self.metrics, collector.statistics(), self.reference,
                            collector.logits, seed=self.seed), collector

    def evaluate(self, step: int) -> dict[str, float]:
        """The scores at ``step`` ({} on a worker without the reference, which only helps)."""
        compare = self._compare_with_generator()
        with self._abandoned_on_signal(step):
            scores, collector = self._scores(step, average=True)
            without_average = self._scores(step, average=False)[0] if compare else {}
            if self.reference is None:
                return {}
        self._compared_with_generator |= compare
        best = self._keep_best(scores, step)
        with writing_events(), self.writer.as_default(step=step):
            for name, value in scores.items():
                tf.summary.scalar(name, value)
            for name, value in without_average.items():
                tf.summary.scalar(f"{name}_no_average", value)
            for name, (value, best_step) in best.items():
                tf.summary.scalar(f"best_{name}", value)
                tf.summary.scalar(f"best_{name}_step", best_step)
            if self.schedule is not None:
                self._follow_schedule(step, collector.features)
        logging.info("step %d: %s", step, ", ".join(
            f"{name} {value:.4f}" + (f" (best {best[name][0]:.4f} at step {best[name][1]})"
                                      if name in best else "")
            for name, value in scores.items()))
        self.last_scores = scores
        return scores

    def _follow_schedule(self, step: int, generated_features: np.ndarray) -> None:
        """The KID-adaptive test; a decay multiplies both learning rates by one factor."""
        decay, p_value = self.schedule.update(self.reference.features, generated_features)
        optimizers = {"d_lr": self.model.d_optimizer, "g_lr": self.model.g_optimizer}
        if decay:
            for optimizer in optimizers.values():
                optimizer.learning_rate.assign(
                    self.schedule.decayed(float(optimizer.learning_rate.numpy())))
            logging.info("step %d: no KID improvement in %d tests: learning rates now D %.3g, "
                         "G %.3g", step, self.schedule.patience,
                         *(float(o.learning_rate.numpy()) for o in optimizers.values()))
        for name, optimizer in optimizers.items():
            tf.summary.scalar(name, optimizer.learning_rate)
        if p_value is not None:
            tf.summary.scalar("lr_test_p_value", p_value)


class JSDEvaluator(_Evaluation):
    """Before the first step and every ``every`` steps: ``js1``…``jsN`` of generated text.

    The lowest value of each n so far (the paper reports the best JSD of a run) and its step are
    variables (``best_js``, ``best_js_step``, shape (N,)) that a checkpoint keeps; they are logged
    as ``best_js1``…``best_jsN``. With a generator average the lines come from it, and its first
    evaluation in a process also scores the trained generator (``js<n>_no_average``).

    Args:
        writer: the run's summary writer.
        every: the interval in steps.
        reference_models: ``NgramLanguageModel``s of the training lines (integer character ids),
            n = 1…N in order.
        decode: maps ids (B, seq_len) to B strings (``CharMap.decode``).
        num_batches, batch_size: generated lines per evaluation = num_batches · batch_size (the
            original: 10 · 64).
        sample_dir: where ``samples_<step>.txt`` (every generated line) is written.
        seed: evaluation noise is drawn from NumPy seeded with (seed, step), never from the
            training noise.
        stop_requests: the run's signal handling: a signal abandons the sampling and scoring,
            and the resumed run evaluates that step again.
    """

    name = "JSD evaluation"

    def __init__(self, writer, every: int, reference_models: list[NgramLanguageModel], decode,
                 num_batches: int, batch_size: int, sample_dir: str | os.PathLike, seed: int,
                 stop_requests: StopRequests | None = None):
        super().__init__(every, stop_requests)
        self.writer = writer
        self.reference_models = reference_models
        self.decode = decode
        self.num_samples = num_batches * batch_size
        self.batch_size = batch_size
        self.sample_dir = Path(sample_dir)
        self.seed = seed
        self.last_js: list[float] | None = None
        self.last_samples_file: Path | None = None
        count = len(reference_models)
        self.best_js = tf.Variable(np.full(count, np.inf), dtype=tf.float64, trainable=False,
                                   name="best_js")
        self.best_js_step = tf.Variable(np.full(count, -1), dtype=tf.int64, trainable=False,
                                        name="best_js_step")

    def _divergences(self, step: int, average: bool) -> tuple[list[float], np.ndarray]:
        rng = np.random.default_rng([self.seed, step])
        ids = np.concatenate([
            np.argmax(batch, axis=-1).astype(np.int32)
            for batch in self.model.sample_batches(self.num_samples, self.batch_size, rng,
                                                   average)])
        return [NgramLanguageModel(reference.n, ids).js_with(reference)
                for reference in self.reference_models], ids

    def evaluate(self, step: int) -> list[float]:
        compare = self._compare_with_generator()
        with self._abandoned_on_signal(step):
            js, ids = self._divergences(step, average=True)
            without_average = self._divergences(step, average=False)[0] if compare else []
        self._compared_with_generator |= compare
        lines = self.decode(ids)
        improved = np.asarray(js) < self.best_js.numpy()
        self.best_js.assign(np.where(improved, js, self.best_js.numpy()))
        self.best_js_step.assign(np.where(improved, step, self.best_js_step.numpy()))
        with writing_events(), self.writer.as_default(step=step):
            for reference, value, best in zip(self.reference_models, js, self.best_js.numpy()):
                tf.summary.scalar(f"js{reference.n}", value)
                tf.summary.scalar(f"best_js{reference.n}", best)
            for reference, value in zip(self.reference_models, without_average):
                tf.summary.scalar(f"js{reference.n}_no_average", value)
            # Indented lines: a Markdown code block, which shows the backtick padding verbatim.
            tf.summary.text("samples", "\n".join("    " + line for line in lines[:16]))
        samples_file = self.sample_dir / f"samples_{step}.txt"
        write_bytes_atomically(samples_file, "".join(line + "\n" for line in lines).encode("utf-8"))
        logging.info("step %d: %s", step, ", ".join(
            f"js{reference.n} {value:.4f}" for reference, value in zip(self.reference_models, js)))
        self.last_js = js
        self.last_samples_file = samples_file
        return js

    def on_train_begin(self, logs=None):
        step = _step(self.model)
        if step == 0 or self._due_again(step):
            self.evaluate(step)


class StopOnSignal(keras.callbacks.Callback):
    """Ends ``fit`` with ``Interrupted`` at the step boundary after a SIGINT/SIGTERM (before the
    next step, after every other callback of the last one). Put it last."""

    def __init__(self, stop_requests: StopRequests):
        super().__init__()
        self.stop_requests = stop_requests

    def on_train_batch_begin(self, batch, logs=None):
        self.stop_requests.check()

    def on_train_batch_end(self, batch, logs=None):
        self.stop_requests.check()


class WorkersStopTogether(keras.callbacks.Callback):
    """Multi-worker runs: after a SIGINT/SIGTERM on any worker, every worker stops at the same
    step, saves it and ends ``fit`` with ``Interrupted``. TensorFlow's
    ``PreemptionCheckpointHandler`` agrees on the step through the coordination service (it
    watches ``stop_requests`` instead of installing its own signal handler); it is consulted at
    every step boundary. Put it last.

    Args:
        strategy: the run's ``MultiWorkerMirroredStrategy``.
        manager: the ``tf.train.CheckpointManager`` the run saves with (the handler keeps its
            count of steps in that checkpoint).
        saver: the run's ``CheckpointSaver``, which writes the agreed step.
        stop_requests: this worker's signals.
    """

    def __init__(self, strategy, manager, saver: "CheckpointSaver", stop_requests: StopRequests):
        super().__init__()
        self.stop_requests = stop_requests
        termination = tf.distribute.experimental.TerminationConfig(
            termination_watcher_fn=lambda: stop_requests.requested,
            exit_fn=self._end, save_fn=lambda *args, **kwargs: saver.save_unless_saved(),
            grace_period=0)
        self.handler = tf.distribute.experimental.PreemptionCheckpointHandler(
            strategy.cluster_resolver, manager, termination_config=termination)

    def _end(self):
        # A worker stopped on another's behalf reports SIGTERM, as a preempted cluster does.
        raise Interrupted(self.stop_requests.signum or signal.SIGTERM)

    def on_train_batch_end(self, batch, logs=None):
        self.handler.save_checkpoint_if_preempted()


class CheckpointSaver(keras.callbacks.Callback):
    """Saves the run's checkpoint every ``every`` steps and at the end.

    Args:
        checkpoints: a ``ttur_tf.checkpoints.RunCheckpoints`` (its ``save(step)`` raises
            ``OutputError`` with a message when the checkpoint cannot be written).
        every: the interval in steps.
        pending: the run's ``PendingEvaluations``, settled after each save (None: none kept).
    """

    def __init__(self, checkpoints, every: int, pending=None):
        super().__init__()
        self.checkpoints = checkpoints
        self.every = every
        self.pending = pending
        self.last_saved_step = None

    def save_unless_saved(self) -> None:
        """Saves the checkpoint of the current step if it is not saved yet."""
        if self.last_saved_step != _step(self.model):
            self._save()

    def _save(self):
        step = _step(self.model)
        path = self.checkpoints.save(step)
        self.last_saved_step = step
        if self.pending is not None:
            self.pending.settle(step)
        logging.info("step %d: checkpoint %s", step, path)

    def on_train_batch_end(self, batch, logs=None):
        if _step(self.model) % self.every == 0:
            self._save()

    def on_train_end(self, logs=None):
        self.save_unless_saved()
