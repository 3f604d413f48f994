"""The TTUR GAN: one Keras model, one ``train_step``, two optimizers (Heusel et al. 2017, Sec. 2).

One ``train_step`` is one iteration of the original training loops (bioinf-jku/TTUR
``WGAN_GP/gan_64x64_FID.py``, ``gan_language_JSD.py``):

1. one generator update on fresh noise, skipped at the very first iteration (as the original);
2. ``n_critic`` discriminator updates, each on its own real batch and fresh noise.

The two time scales are two optimizers: ``d_optimizer`` updates only the discriminator's variables
and ``g_optimizer`` only the generator's, each with its own learning rate and betas (TTUR: Adam,
D 3e-4 / G 1e-4, n_critic = 1; the original WGAN-GP: equal rates, n_critic = 5 or 10).

The data for one step is the ``n_critic`` real batches stacked on the second axis:
(B, n_critic, ...) (for a class-conditional GAN with their labels (B, n_critic)), so that a
distribution strategy, which splits the first axis, gives each replica its share of every critic
batch; ``stack_critic_batches`` makes such a dataset from one of
batches. Noise and the gradient penalty's interpolation weights are drawn from a stateless
generator keyed by (seed, step, draw): a resumed run draws the same numbers as an uninterrupted one
from its step alone, and every replica takes its own rows of the same global draw
(``ttur_tf.distribute``), so R replicas compute what one device computes with the same global
batch. Losses are means over the global batch for the same reason.

A class-conditional GAN (``num_classes`` > 0) has a generator taking [noise, labels] and a
discriminator taking [samples, labels]. In training, generated samples take the labels of the
real batch they are compared with, so that labels are drawn as the data draws them; evaluation
draws them from the data's class frequencies (``numpy_inputs``).

The generator update of the very first step is applied with zero gradients and the generator
optimizer's iteration count is rewound: for Adam and RMSprop, whose state starts at zero, that is
exactly the original's skipped update, without a conditional branch around the update (which
``tf.distribute`` cannot synchronise inside, and which slows XLA down).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import keras
import numpy as np
import tensorflow as tf

from ttur_tf import losses
from ttur_tf.config import check_setting
from ttur_tf.distribute import replica_rows

__all__ = ["GAN", "NOISE_DISTRIBUTIONS", "UPDATE_RULES", "stack_critic_batches"]

NOISE_DISTRIBUTIONS = ("normal", "uniform")
UPDATE_RULES = ("alternating", "simultaneous", "extragradient", "optimistic")
# Instance noise is drawn from its own stateless stream (seed + this, step, draw), so that turning
# it on leaves every other draw of a run as it was.
_INSTANCE_NOISE_STREAM = 1 << 32
_AUGMENT_STREAM = 2 << 32  # DiffAugment's draws: another stream of the same seed
_METRICS_OF_EVERY_LOSS = ("d_loss", "g_loss")


def stack_critic_batches(batches: tf.data.Dataset, n_critic: int) -> tf.data.Dataset:
    """Groups ``n_critic`` consecutive batches (B, ...) (or (images, labels) pairs of batches)
    into the (B, n_critic, ...) elements ``train_step`` takes: critic update i uses
    ``element[:, i]``."""
    stacked = batches.batch(n_critic, drop_remainder=True)
    return stacked.map(lambda *element: tf.nest.map_structure(
        lambda part: tf.experimental.numpy.swapaxes(part, 0, 1),
        element if len(element) > 1 else element[0]))


class GAN(keras.Model):
    """A generator and a discriminator trained with their own optimizers.

    Args:
        generator: maps noise (B, noise_dim) float32 to samples (e.g. images in [-1, 1]);
            conditional: [noise, labels int32 (B,)] to samples.
        discriminator: maps a batch of samples to scores/logits (B,) float32; conditional:
            [samples, labels] to scores.
        noise_dim: length of the noise vectors.
        loss: a key of ``ttur_tf.losses.LOSSES``: "wgan-gp", "wgan", "dcgan" or "lsgan".
        n_critic: discriminator updates per generator update (≥ 1).
        gp_weight: λ of the gradient penalty (wgan-gp only); 10 in the original.
        clip_value: the critic's weights are clipped to ±clip_value after each update (wgan only).
        noise_distribution: "normal" (N(0, 1), the WGAN-GP scripts) or "uniform" (U[-1, 1], DCGAN).
        sample_in_training_mode: run the generator in training mode (batch statistics) when
            sampling, as the WGAN-GP scripts do; DCGAN samples in inference mode.
        seed: seed of the training noise (with the step, it determines every draw).
        regularizer: of the discriminator (Mescheder et al. 2018): "gp" (WGAN-GP,
            gp_weight·E(‖∇D(x̂)‖ − 1)²), "r1" / "r2" (γ/2·E‖∇D(x)‖² on real / fake samples),
            "instance_noise" (N(0, σ²) added to every sample the discriminator sees), "none";
            default: "gp" for the wgan-gp loss, "none" otherwise.
        regularizer_weight: γ of r1 and r2.
        instance_noise: σ at step 0, annealed linearly to 0 at ``anneal_steps`` (0: constant).
        anneal_steps: the step at which instance noise reaches 0.
        update_rule: how the two players' updates are ordered (each keeps its own optimizer and
            learning rate): "alternating" (the original: the generator, then the critic at the
            new generator), "simultaneous" (the generator's and the first critic update's
            gradients at the same point), "extragradient" (both players take an extrapolation
            step, then update from where they were with the gradients at the extrapolated
            point), "optimistic" (each optimizer is given 2·g_t − g_{t−1}; the previous
            gradients of the whole batch are variables, ``previous_gradients``, for the
            checkpoint, which resumes on any number of replicas).
        generator_penalty: a function of no arguments returning a term added to the loss the
            generator's gradients are taken of (not to the logged ``g_loss``), e.g. BigGAN's
            orthogonal regularization of its kernels; a replica's share under a strategy.
        augment: (samples, seed) → samples, applied to every batch the critic sees, real and
            generated, in both players' updates (``ttur_tf.augment.diff_augment``); ``seed``
            (int64 (2,)) is a function of the run's seed, the step and the draw.
        generator_average: a ``ttur_tf.generator_average.GeneratorAverage`` of ``generator``,
            updated after every step; samples and metrics then come from it
            (``generate_tensor(..., average=False)``: from the trained generator).
        num_classes: 0 for an unconditional GAN, else the number of classes of a
            class-conditional one.
        class_frequencies: (num_classes,) the classes' shares of the data, from which evaluation
            draws labels; default uniform.

    Metrics returned by ``train_step`` (means since the trackers were last reset): ``d_loss`` (of
    the last critic update, including the regularizer, as the original prints it with λ·GP),
    ``g_loss``, and for the Wasserstein losses ``wasserstein`` (E[D(real)] − E[D(fake)]); with
    gp, r1 or r2 also ``gradient_penalty`` (the penalty before its weight).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        noise_dim: int,
        loss: str = "wgan-gp",
        n_critic: int = 1,
        gp_weight: float = 10.0,
        clip_value: float = 0.01,
        noise_distribution: str = "normal",
        sample_in_training_mode: bool = True,
        seed: int = 0,
        regularizer: str | None = None,
        regularizer_weight: float = 10.0,
        instance_noise: float = 0.1,
        anneal_steps: int = 0,
        update_rule: str = "alternating",
        generator_penalty: Callable[[], tf.Tensor] | None = None,
        generator_average=None,
        augment: Callable[[tf.Tensor, tf.Tensor], tf.Tensor] | None = None,
        num_classes: int = 0,
        class_frequencies=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (("loss", loss), ("n_critic", n_critic), ("gp_weight", gp_weight)):
            check_setting(name, value)
        if clip_value <= 0:
            raise ValueError(f"clip_value must be > 0, got {clip_value}")
        if noise_distribution not in NOISE_DISTRIBUTIONS:
            raise ValueError(
                f"noise_distribution must be one of {NOISE_DISTRIBUTIONS}, got {noise_distribution!r}"
            )
        self.generator = generator
        self.discriminator = discriminator
        self.noise_dim = int(noise_dim)
        self.loss_name = loss
        self.gan_loss = losses.LOSSES[loss]
        self.n_critic = int(n_critic)
        self.gp_weight = float(gp_weight)
        self.clip_value = float(clip_value)
        self.noise_distribution = noise_distribution
        self.sample_in_training_mode = bool(sample_in_training_mode)
        self.seed = int(seed)
        self.regularizer = regularizer or ("gp" if self.gan_loss.uses_gradient_penalty else "none")
        if self.regularizer not in losses.REGULARIZERS:
            raise ValueError(f"regularizer must be one of {losses.REGULARIZERS}, got {regularizer!r}")
        if regularizer_weight < 0 or instance_noise < 0 or anneal_steps < 0:
            raise ValueError("regularizer_weight, instance_noise and anneal_steps must be ≥ 0")
        self.regularizer_weight = float(regularizer_weight)
        self.instance_noise = float(instance_noise)
        self.anneal_steps = int(anneal_steps)
        if update_rule not in UPDATE_RULES:
            raise ValueError(f"update_rule must be one of {UPDATE_RULES}, got {update_rule!r}")
        self.update_rule = update_rule
        self.generator_penalty = generator_penalty
        self.generator_average = generator_average
        self.augment = augment
        if num_classes < 0:
            raise ValueError(f"num_classes must be ≥ 0, got {num_classes}")
        self.num_classes = int(num_classes)
        if self.num_classes:
            frequencies = (np.full(self.num_classes, 1.0 / self.num_classes)
                           if class_frequencies is None
                           else np.asarray(class_frequencies, np.float64))
            if frequencies.shape != (self.num_classes,) or not np.isclose(frequencies.sum(), 1.0):
                raise ValueError(f"class_frequencies must be {self.num_classes} shares summing "
                                 f"to 1, got {frequencies}")
            self.class_frequencies = frequencies
        else:
            self.class_frequencies = None
        self.previous_gradients: dict[str, list[tf.Variable]] = {}
        # Completed steps; updated once per step, not once per replica.
        self.step = self.add_weight(shape=(), dtype="int64", initializer="zeros", trainable=False,
                                    name="step", aggregation="only_first_replica")
        names = list(_METRICS_OF_EVERY_LOSS)
        if self.regularizer in ("gp", "r1", "r2"):
            names.append("gradient_penalty")
        if self.gan_loss.is_wasserstein:
            names.append("wasserstein")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.d_optimizer = None
        self.g_optimizer = None

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Sets the two optimizers (and builds their slot variables for their own network only).

        Args:
            d_optimizer: updates the discriminator's trainable variables only.
            g_optimizer: updates the generator's trainable variables only; a different object.
            **kwargs: passed to ``keras.Model.compile`` (e.g. ``jit_compile``).
        """
        if d_optimizer is g_optimizer:
            raise ValueError("d_optimizer and g_optimizer must be two optimizer objects (TTUR)")
        policy = keras.mixed_precision.global_policy().name
        if policy != "float32":
            warnings.warn(
                f"the global dtype policy is {policy!r}: the gradient penalty is known to become "
                "unstable (NaN) in reduced precision; train GANs in float32",
                stacklevel=2,
            )
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        if self.update_rule == "optimistic":
            # The whole batch's gradients, the same on every replica: each replica assigns them
            # (the first replica's write is kept), and a checkpoint resumes on any replica count.
            same_everywhere = dict(trainable=False,
                                   aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            self.previous_gradients = {
                name: [tf.Variable(tf.zeros_like(variable), name=f"previous_{name}_gradient_{index}",
                                   **same_everywhere)
                       for index, variable in enumerate(network.trainable_variables)]
                for name, network in (("d", self.discriminator), ("g", self.generator))}
            self._have_previous = {name: tf.Variable(False, name=f"have_previous_{name}_gradients",
                                                     **same_everywhere)
                                   for name in ("d", "g")}
        self.built = True  # the networks were built with their inputs; nothing is left to infer

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    @staticmethod
    def _with_labels(values, labels):
        """A network's input: ``values`` alone, or [values, labels] for a conditional GAN."""
        return values if labels is None else [values, labels]

    # Under a mixed precision policy the networks compute in 16 bits; what leaves them (fake
    # samples, the critic's scores) is float32, so that losses and the gradient penalty are too.
    def _fake(self, noise, labels=None) -> tf.Tensor:
        """Generated samples for training (of classes ``labels`` if conditional), float32."""
        return tf.cast(self.generator(self._with_labels(noise, labels), training=True),
                       tf.float32)

    def _scores(self, samples, labels=None) -> tf.Tensor:
        """The critic's scores of samples (B, ...) (of classes ``labels`` if conditional) in
        training mode, float32."""
        return tf.cast(self.discriminator(self._with_labels(samples, labels), training=True),
                       tf.float32)

    def instance_noise_sigma(self) -> tf.Tensor:
        """σ of instance noise at this step (float32): annealed linearly to 0 at anneal_steps."""
        sigma = tf.constant(self.instance_noise, tf.float32)
        if not self.anneal_steps:
            return sigma
        left = 1.0 - tf.cast(self.step, tf.float32) / float(self.anneal_steps)
        return sigma * tf.maximum(left, 0.0)

    def _seen_by_critic(self, samples: tf.Tensor, draw: int) -> tf.Tensor:
        """``samples`` as the critic sees them: augmented if the GAN augments, with instance
        noise added for that regularizer (each this replica's rows of a global draw)."""
        if self.augment is not None:
            samples = self.augment(samples, self._draw_seed(draw, _AUGMENT_STREAM))
        if self.regularizer != "instance_noise":
            return samples

        def every_row(rows):
            return tf.random.stateless_normal(tf.concat([[rows], tf.shape(samples)[1:]], 0),
                                              self._draw_seed(draw, _INSTANCE_NOISE_STREAM))

        return samples + self.instance_noise_sigma() * replica_rows(every_row, tf.shape(samples)[0])

    def _draw_seed(self, draw, stream: int = 0) -> tf.Tensor:
        """The stateless seed of draw number ``draw`` (< ``_draws_per_step``) of this step, in
        ``stream`` (0: the noise and interpolation weights; others: instance noise, DiffAugment)."""
        counter = self.step * self._draws_per_step + tf.cast(draw, tf.int64)
        return tf.stack([tf.constant(self.seed + stream, tf.int64), counter])

    @property
    def _draws_per_step(self) -> int:
        # The generator's noise, then for each critic update its noise and its weights alpha.
        return 1 + 2 * self.n_critic

    def sample_noise(self, batch_size, draw=0) -> tf.Tensor:
        """This replica's rows of the step's noise number ``draw``: (batch_size, noise_dim)
        float32, N(0, 1) or U[-1, 1]."""
        def every_row(rows):
            shape = tf.stack([rows, self.noise_dim])
            if self.noise_distribution == "uniform":
                return tf.random.stateless_uniform(shape, self._draw_seed(draw), -1.0, 1.0)
            return tf.random.stateless_normal(shape, self._draw_seed(draw))

        return replica_rows(every_row, batch_size)

    def numpy_noise(self, rng: np.random.Generator, batch_size: int) -> np.ndarray:
        """Noise like ``sample_noise`` from a NumPy generator: for evaluation, which must not
        advance the training noise (a run's training then does not depend on its evaluations)."""
        shape = (batch_size, self.noise_dim)
        if self.noise_distribution == "uniform":
            return rng.uniform(-1.0, 1.0, shape).astype(np.float32)
        return rng.standard_normal(shape).astype(np.float32)

    def numpy_inputs(self, rng: np.random.Generator, batch_size: int):
        """The generator's inputs for evaluation: ``numpy_noise``, and for a conditional GAN
        (noise, labels int32 (batch_size,)) with labels drawn from the class frequencies."""
        noise = self.numpy_noise(rng, batch_size)
        if not self.num_classes:
            return noise
        return noise, rng.choice(self.num_classes, batch_size,
                                 p=self.class_frequencies).astype(np.int32)

    def _discriminator_gradients(self, real: tf.Tensor, index, labels=None):
        """(gradients, values) of critic update number ``index`` of the step on ``real`` (this
        replica's rows; of classes ``labels``, which the generated samples take too), not
        applied."""
        batch_size = tf.shape(real)[0]
        fake = self._fake(self.sample_noise(batch_size, draw=1 + 2 * index), labels)
        real = self._seen_by_critic(real, 1 + 2 * index)
        fake = self._seen_by_critic(fake, 2 + 2 * index)

        def scores(samples):
            return self._scores(samples, labels)

        with tf.GradientTape() as tape:
            real_scores = scores(real)
            fake_scores = scores(fake)
            d_loss = self.gan_loss.d_loss(real_scores, fake_scores)
            values = {}
            if self.regularizer == "gp":
                alpha = replica_rows(lambda rows: tf.random.stateless_uniform(
                    tf.reshape(rows, [1]), self._draw_seed(2 + 2 * index)), batch_size)
                penalty = losses.gradient_penalty(scores, real, fake, alpha)
                d_loss += self.gp_weight * penalty
                values["gradient_penalty"] = penalty
            elif self.regularizer in ("r1", "r2"):
                penalty = losses.zero_centered_penalty(
                    scores, real if self.regularizer == "r1" else fake)
                d_loss += 0.5 * self.regularizer_weight * penalty
                values["gradient_penalty"] = penalty
            scaled_loss = self.d_optimizer.scale_loss(d_loss)  # × the loss scale (float16)
        values["d_loss"] = d_loss
        if self.gan_loss.is_wasserstein:
            values["wasserstein"] = -losses.wasserstein_d_loss(real_scores, fake_scores)
        return tape.gradient(scaled_loss, self.discriminator.trainable_variables), values

    @property
    def training_state(self) -> dict:
        """Everything training changes, by checkpoint key: both networks, both optimizers, the
        step and the update rule's state (``update_rule_state``)."""
        average = ({"generator_average": self.generator_average}
                   if self.generator_average is not None else {})
        return dict(generator=self.generator, discriminator=self.discriminator,
                    d_optimizer=self.d_optimizer, g_optimizer=self.g_optimizer, step=self.step,
                    **self.update_rule_state, **average)

    @property
    def update_rule_state(self) -> dict[str, tf.Variable]:
        """What the update rule carries from step to step, for the checkpoint (optimistic: the
        previous gradients of both networks)."""
        if self.update_rule != "optimistic":
            return {}
        state = {f"have_previous_{name}": flag for name, flag in self._have_previous.items()}
        for name, variables in self.previous_gradients.items():
            state.update({f"previous_{name}_gradient_{index}": variable
                          for index, variable in enumerate(variables)})
        return state

    def _optimistic(self, name: str, gradients: list, record=1.0) -> list:
        """2·g_t − g_{t−1} (g_t at the network's first update), remembering g_t when ``record``
        is 1 (0: the generator's skipped first update, which is not a gradient to remember).

        Under a strategy ``gradients`` are this replica's share of g_t (the optimizer sums the
        shares); g_t is their sum over replicas, and each replica subtracts its 1/R of g_{t−1}.
        Under a loss scale (mixed_float16) ``gradients`` are scaled by the current scale: g_t is
        remembered unscaled, so that a change of scale between steps does not bend the update,
        and a step that overflowed (which the optimizer skips) is not remembered.
        """
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        whole = (context.all_reduce(tf.distribute.ReduceOp.SUM, gradients) if replicas > 1
                 else gradients)
        optimizer = self.d_optimizer if name == "d" else self.g_optimizer
        scale = (tf.cast(optimizer.dynamic_scale, tf.float32)
                 if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) else 1.0)
        whole = [total / scale for total in whole]
        previous, flag = self.previous_gradients[name], self._have_previous[name]
        have = tf.cast(flag, tf.float32)
        combined = [2.0 * gradient - scale * (have * old + (1.0 - have) * total) / replicas
                    for gradient, total, old in zip(gradients, whole, previous)]
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(total)) for total in whole])
        remember = tf.logical_and(tf.convert_to_tensor(record) > 0, finite)
        for old, total in zip(previous, whole):
            old.assign(tf.where(remember, total, old))
        flag.assign(tf.logical_or(flag, remember))
        return combined

    def _apply_discriminator(self, gradients: list) -> None:
        variables = self.discriminator.trainable_variables
        if self.update_rule == "optimistic":
            gradients = self._optimistic("d", gradients)
        self.d_optimizer.apply(gradients, variables)
        if self.gan_loss.clips_weights:
            for variable in variables:
                variable.assign(tf.clip_by_value(variable, -self.clip_value, self.clip_value))

    def _discriminator_update(self, real: tf.Tensor, index, labels=None) -> dict[str, tf.Tensor]:
        """Critic update number ``index`` of the step on ``real`` (this replica's rows)."""
        gradients, values = self._discriminator_gradients(real, index, labels)
        self._apply_discriminator(gradients)
        return values

    def _discriminator_updates(self, real_batches: tf.Tensor, labels=None,
                               first: int = 0) -> dict[str, tf.Tensor]:
        """Updates ``first``…``n_critic`` − 1, update i on ``real_batches[:, i]`` (of classes
        ``labels[:, i]`` if conditional); the values of the last one ({} when there is none).

        On one device a ``tf.while_loop``, so that the update is traced once whatever ``n_critic``
        is (unrolled, ten critic updates make a graph ten times larger and slower to build). One
        iteration at a time: each update needs the previous one's weights, and letting TensorFlow
        start later iterations early was measured 1.5× slower (benchmarks/bench_critic_loop.py).
        Under a ``tf.distribute`` strategy the updates are unrolled: it cannot synchronise the
        replicas' gradients inside a loop.
        """
        if self.n_critic - first <= 1 or tf.distribute.has_strategy():
            values = {}
            for index in range(first, self.n_critic):
                values.update(self._discriminator_update(
                    real_batches[:, index], index, None if labels is None else labels[:, index]))
            return values
        names = [name for name in self.trackers if name != "g_loss"]

        def update(index, *_):
            values = self._discriminator_update(
                tf.gather(real_batches, index, axis=1), index,
                None if labels is None else tf.gather(labels, index, axis=1))
            return (index + 1, *(values[name] for name in names))

        _, *last = tf.while_loop(
            lambda index, *_: index < self.n_critic, update,
            (tf.constant(first), *(tf.zeros((), tf.float32) for _ in names)),
            parallel_iterations=1,
        )
        return dict(zip(names, last))

    def _generator_gradients(self, batch_size, labels=None):
        """(gradients, g_loss) of the step's generator update (samples of classes ``labels`` if
        conditional), not applied."""
        with tf.GradientTape() as tape:
            fake = self._fake(self.sample_noise(batch_size, draw=0), labels)
            g_loss = self.gan_loss.g_loss(self._scores(self._seen_by_critic(fake, 0), labels))
            penalized = g_loss + (self.generator_penalty() if self.generator_penalty else 0.0)
            scaled_loss = self.g_optimizer.scale_loss(penalized)
        return tape.gradient(scaled_loss, self.generator.trainable_variables), g_loss

    def _apply_generator(self, gradients: list) -> None:
        # The original runs no generator update at iteration 0 (its critic trains first): zero
        # gradients leave the weights and Adam's (RMSprop's) zero state as they are, and the
        # rewind keeps the optimizer's step count (and so Adam's bias correction) the original's.
        first_step = tf.equal(self.step, 0)
        keep = tf.cast(tf.logical_not(first_step), tf.float32)
        gradients = [gradient * keep for gradient in gradients]
        if self.update_rule == "optimistic":
            gradients = self._optimistic("g", gradients, record=keep)
        self.g_optimizer.apply(gradients, self.generator.trainable_variables)
        self.g_optimizer.iterations.assign_sub(tf.cast(first_step, tf.int64))

    def _both_players(self, real_batches: tf.Tensor, labels=None) -> dict[str, tf.Tensor]:
        """The generator's update and critic update 0, by the update rule; their values. A
        conditional generator's update generates the classes of critic update 0's batch."""
        batch_size = tf.shape(real_batches)[0]
        first_labels = None if labels is None else labels[:, 0]
        g_gradients, g_loss = self._generator_gradients(batch_size, first_labels)
        if self.update_rule in ("alternating", "optimistic"):
            self._apply_generator(g_gradients)
            values = self._discriminator_update(real_batches[:, 0], 0, first_labels)
        elif self.update_rule == "simultaneous":
            d_gradients, values = self._discriminator_gradients(real_batches[:, 0], 0,
                                                                first_labels)
            self._apply_generator(g_gradients)
            self._apply_discriminator(d_gradients)
        else:  # extragradient: extrapolate, take the gradients there, update from the start
            variables = self.generator.trainable_variables + self.discriminator.trainable_variables
            start = [tf.identity(variable) for variable in variables]
            d_gradients, _ = self._discriminator_gradients(real_batches[:, 0], 0, first_labels)
            self._apply_generator(g_gradients)
            self._apply_discriminator(d_gradients)
            g_gradients, g_loss = self._generator_gradients(batch_size, first_labels)
            d_gradients, values = self._discriminator_gradients(real_batches[:, 0], 0,
                                                                first_labels)
            for variable, value in zip(variables, start):
                variable.assign(value)
            self._apply_generator(g_gradients)
            self._apply_discriminator(d_gradients)
        return {"g_loss": g_loss, **values}

    def _batches_and_labels(self, data) -> tuple[tf.Tensor, tf.Tensor | None]:
        """(real batches (B, n_critic, ...), labels int32 (B, n_critic) or None) of a step's
        data, checked against what the GAN is."""
        labelled = isinstance(data, (tuple, list))
        if labelled != bool(self.num_classes):
            raise ValueError(
                f"a {'class-conditional' if self.num_classes else 'unconditional'} GAN takes "
                f"{'(batches, labels)' if self.num_classes else 'batches without labels'}, got "
                f"{'a pair' if labelled else 'batches alone'}")
        real_batches, labels = data if labelled else (data, None)
        real_batches = tf.convert_to_tensor(real_batches)
        if real_batches.shape.rank is None or real_batches.shape.rank < 2 or \
                real_batches.shape[1] != self.n_critic:
            raise ValueError(
                f"train_step needs {self.n_critic} real batches stacked on axis 1 (n_critic), got "
                f"shape {real_batches.shape}: use stack_critic_batches(dataset, n_critic)"
            )
        if labels is not None:
            labels = tf.cast(labels, tf.int32)
            if labels.shape.rank != 2 or labels.shape[1] != self.n_critic:
                raise ValueError(f"labels must be (B, n_critic={self.n_critic}), stacked like "
                                 f"the batches, got shape {labels.shape}")
        return real_batches, labels

    def train_step(self, data):
        """One TTUR iteration on real batches stacked as (B, n_critic, ...) (B: this replica's);
        a conditional GAN takes (batches, labels (B, n_critic))."""
        if self.d_optimizer is None:
            raise RuntimeError("call compile(d_optimizer=..., g_optimizer=...) before training")
        real_batches, labels = self._batches_and_labels(data)
        values = self._both_players(real_batches, labels)
        values.update(self._discriminator_updates(real_batches, labels, first=1))
        if self.generator_average is not None:
            self.generator_average.update(self.step)
        self.step.assign_add(1)
        # Each replica holds its share of the global means; the trackers average over replicas.
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        for name, tracker in self.trackers.items():
            tracker.update_state(values[name] * replicas)
        logs = {name: tracker.result() for name, tracker in self.trackers.items()}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras averages multi-worker logs with strategy.reduce("MEAN", axis=0), which needs
            # an axis to reduce: one-element vectors, averaged into scalars.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    @tf.function
    def _generate(self, inputs, from_average: bool):
        # Sampling writes nothing: in training mode (the WGAN-GP scripts' batch statistics) the
        # batch-norm moving statistics and spectral norm's u would otherwise move. The average's
        # scope is a StatelessScope too, mapping the generator's variables to their averages.
        scope = self.generator_average.in_place() if from_average else keras.StatelessScope()
        with scope:
            return tf.cast(self.generator(inputs, training=self.sample_in_training_mode),
                           tf.float32)

    def _input_tensors(self, inputs):
        """The generator's inputs as tensors: noise (B, noise_dim) float32, and for a
        conditional GAN [noise, labels (B,) int32]."""
        if not self.num_classes:
            return tf.convert_to_tensor(inputs, tf.float32)
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
            raise ValueError("a class-conditional generator takes (noise, labels), e.g. from "
                             "numpy_inputs(rng, batch_size)")
        noise, labels = inputs
        return [tf.convert_to_tensor(noise, tf.float32), tf.convert_to_tensor(labels, tf.int32)]

    def generate_tensor(self, inputs, average: bool = True) -> tf.Tensor:
        """Samples for the given noise (B, noise_dim) (conditional: (noise, labels (B,))) as a
        float32 tensor on the current device, e.g. images in [-1, 1] (the generator in the
        sampling mode of the model's original), from the generator's average if there is one
        and ``average``."""
        return self._generate(self._input_tensors(inputs),
                              average and self.generator_average is not None)

    def generate(self, inputs, average: bool = True) -> np.ndarray:
        """Samples for the given noise (B, noise_dim) (conditional: (noise, labels (B,))), as
        float32 NumPy, e.g. images in [-1, 1] (from the generator's average if there is one and
        ``average``)."""
        return self.generate_tensor(inputs, average).numpy()

    def sample_batches(
        self, num_samples: int, batch_size: int, rng: np.random.Generator, average: bool = True
    ) -> Iterator[np.ndarray]:
        """Yields ``num_samples`` samples in batches of at most ``batch_size`` (inputs from
        ``rng`` by ``numpy_inputs``; from the generator's average if there is one and
        ``average``)."""
        if num_samples < 1 or batch_size < 1:
            raise ValueError(f"num_samples and batch_size must be ≥ 1, got {num_samples}, {batch_size}")
        for start in range(0, num_samples, batch_size):
            yield self.generate(self.numpy_inputs(rng, min(batch_size, num_samples - start)),
                                average)
