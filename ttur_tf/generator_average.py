"""An exponential moving average of the generator's weights (Yazıcı et al. 2019; BigGAN, SAGAN).

``GeneratorAverage(generator, decay, start_step)`` keeps one variable per generator variable. After
every training step s (the number of steps completed before it): a copy of the generator while
s < ``start_step``, then θ̄ ← decay·θ̄ + (1 − decay)·θ. The GAN samples from it (``with
average.in_place()``: a ``keras.StatelessScope`` maps each generator variable to its average for
the call; nothing is assigned) when it is on, for samples and metrics; training never does.

Batch-norm moving statistics are variables of the generator like its weights and are averaged the
same way. BigGAN recomputes "standing statistics" over many batches of the averaged generator
before evaluating instead; not done here, and it matters only for generators that sample in
inference mode (``dcgan``, ``sngan``: the WGAN-GP ResNets sample with batch statistics).

The averages are checkpointed (``GAN.training_state["generator_average"]``) and, under
``tf.distribute``, ``ONLY_FIRST_REPLICA`` variables: every replica computes the same average of
the same weights.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

__all__ = ["GeneratorAverage"]


class GeneratorAverage(tf.Module):
    """The averaged copy of ``generator``'s floating-point variables (trainable and not).

    Args:
        generator: the network whose variables are averaged; built.
        decay: weight of the old average, in [0, 1) (BigGAN: 0.9999).
        start_step: steps during which the average is a copy of the generator (BigGAN: 20,000).
    """

    def __init__(self, generator: keras.Model, decay: float, start_step: int = 0):
        super().__init__(name="generator_average")
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        if start_step < 0:
            raise ValueError(f"start_step must be ≥ 0, got {start_step}")
        self.decay = float(decay)
        self.start_step = int(start_step)
        # Not tracked (a function): the generator is saved under its own key.
        self._sources = lambda: [variable for variable in generator.variables
                                 if tf.as_dtype(variable.dtype).is_floating]
        self.averages = [
            tf.Variable(tf.convert_to_tensor(variable.value), trainable=False,
                        name=f"average_{index}",
                        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            for index, variable in enumerate(self._sources())]

    def update(self, step: tf.Tensor) -> None:
        """Moves the averages towards the generator after the step ``step`` (0-based)."""
        copying = tf.cast(step < self.start_step, tf.float32)
        weight_of_old = (1.0 - copying) * self.decay
        for average, variable in zip(self.averages, self._sources()):
            current = tf.cast(tf.convert_to_tensor(variable.value), average.dtype)
            old_weight = tf.cast(weight_of_old, average.dtype)
            average.assign(old_weight * average + (1.0 - old_weight) * current)

    @contextlib.contextmanager
    def in_place(self):
        """Within: the generator computes with the averaged variables (nothing is assigned)."""
        mapping = [(variable, average) for variable, average in zip(self._sources(),
                                                                     self.averages)]
        with keras.StatelessScope(state_mapping=mapping):
            yield
