"""The registry of networks: ``--model`` names an entry, and a training run needs nothing else.

An architecture is one module that builds its networks and registers them::

    register(ModelEntry(name="sngan", data="images", defaults=ORIGINAL_SETTINGS,
                        build=build_networks, description="..."))

``build(config, size)`` gets the resolved ``TrainConfig`` and the image side (``data="images"``)
or the number of character ids (``data="text"``) and returns ``Networks``. An entry with
``conditional=True`` also builds class-conditional networks: ``build(config, size,
num_classes=C)`` returns a generator taking [noise, labels] and a discriminator taking [images,
labels] (labels int32 (B,) in [0, C)). ``defaults`` gives a
value to every ``per_model`` setting of ``TrainConfig`` (the published setting of the
architecture). The built-in architectures register when ``ttur_tf.models`` is imported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import keras

__all__ = ["DATA_KINDS", "ModelEntry", "Networks", "model_entry", "model_names", "register"]

DATA_KINDS = ("images", "text")


@dataclasses.dataclass(frozen=True)
class Networks:
    """A generator, its discriminator and how the GAN draws the generator's noise.

    Attributes:
        generator: noise (B, noise_dim) float32 → samples: images (B, H, W, 3) in [-1, 1], or
            character distributions (B, seq_len, vocab).
        discriminator: samples → scores (B,) or (B, 1), logits.
        noise_dim: length of a noise vector.
        noise_distribution: "normal" (N(0, 1)) or "uniform" (U(-1, 1)).
        sample_in_training_mode: whether samples and metrics run the generator in training mode
            (batch statistics of the batch itself, as the WGAN-GP scripts do).
    """

    generator: keras.Model
    discriminator: keras.Model
    noise_dim: int
    noise_distribution: str
    sample_in_training_mode: bool


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One ``--model``: what it trains on, its per-model defaults, its builder, whether it
    builds class-conditional networks too and whether it has a self-attention block
    (``attention_resolution``)."""

    name: str
    data: str
    defaults: Mapping[str, object]
    build: Callable[..., Networks]
    description: str
    conditional: bool = False
    attention: bool = False

    def __post_init__(self):
        if self.data not in DATA_KINDS:
            raise ValueError(f"model {self.name}: data must be one of {DATA_KINDS}, "
                             f"got {self.data!r}")


_ENTRIES: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    """Adds ``entry`` under its name (a name can be registered once)."""
    if entry.name in _ENTRIES:
        raise ValueError(f"a model named {entry.name!r} is already registered")
    _ENTRIES[entry.name] = entry
    return entry


def model_names() -> tuple[str, ...]:
    """The registered names, in the order they were registered."""
    return tuple(_ENTRIES)


def model_entry(name: str) -> ModelEntry:
    """The entry of ``--model=name``.

    Raises:
        ValueError: no model has that name (the message lists those that exist).
    """
    try:
        return _ENTRIES[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}: one of {', '.join(_ENTRIES)}") from None
