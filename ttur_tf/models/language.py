"""The character-level WGAN-GP generator and critic of the paper's One Billion Word experiment.

Reproduces ``Generator`` / ``Discriminator`` / ``ResBlock`` of bioinf-jku/TTUR
``WGAN_GP/gan_language_JSD.py`` (from igul222/improved_wgan_training), channels last:

* Generator: noise (B, 128) → dense → (seq_len, dim) → 5 residual blocks → 1×1 conv to the
  vocabulary → softmax over the vocabulary at each position: (B, seq_len, vocab_size) float32,
  each row a probability vector. The critic sees these soft outputs, real text as one-hot rows.
* Critic: 1×1 conv from (B, seq_len, vocab_size) to dim → 5 residual blocks → flatten → dense →
  one score per sequence (B,).
* Residual block: x + 0.3 · conv5(ReLU(conv5(ReLU(x)))), both convs dim → dim with kernel 5, "same"
  padding; no normalisation.
* Initialisation as tflib: every conv (kernel 5 and 1×1) is uniform with variance
  4 / (fan_in + fan_out), fans counting the kernel width; dense layers are Glorot uniform;
  biases zero. The original reshapes its dense output to (dim, seq_len) in channels-first layout;
  here it is (seq_len, dim), the same network up to a permutation of the dense layer's units.

The paper uses seq_len 32, dim 512 and the 2048 most frequent characters of the corpus.
"""

from __future__ import annotations

import keras

from ttur_tf.models.registry import ModelEntry, Networks, register

__all__ = [
    "NOISE_DIM", "ORIGINAL_SETTINGS", "RESIDUAL_BLOCKS", "build_discriminator", "build_generator",
    "build_networks",
]

NOISE_DIM = 128
# The TTUR setting of WGAN_GP/gan_language_JSD.py: DIM 512, D 3e-4 / G 1e-4, Adam betas
# (0.5, 0.9), 200,000 iterations. No FID (its evaluation is the n-gram JSD).
ORIGINAL_SETTINGS = dict(
    dim=512, loss="wgan-gp", d_lr=3e-4, g_lr=1e-4, d_beta1=0.5, d_beta2=0.9, g_beta1=0.5,
    g_beta2=0.9, steps=200_000, checkpoint_every=1000, fid_every=0,
    spectral_norm="none", attention_resolution=0,
)
RESIDUAL_BLOCKS = 5
_RESIDUAL_SCALE = 0.3


def _check(seq_len: int, vocab_size: int, dim: int) -> None:
    for name, value, minimum in (("seq_len", seq_len, 1), ("vocab_size", vocab_size, 2),
                                 ("dim", dim, 1)):
        if value < minimum:
            raise ValueError(f"{name} must be ≥ {minimum}, got {value}")


def _conv(filters: int, kernel_size: int, name: str):
    return keras.layers.Conv1D(
        filters, kernel_size, padding="same", name=name,
        kernel_initializer=keras.initializers.VarianceScaling(2.0, mode="fan_avg",
                                                              distribution="uniform"),
    )


def _residual_block(x, dim: int, name: str):
    residual = keras.layers.ReLU(name=f"{name}_relu1")(x)
    residual = _conv(dim, 5, f"{name}_conv1")(residual)
    residual = keras.layers.ReLU(name=f"{name}_relu2")(residual)
    residual = _conv(dim, 5, f"{name}_conv2")(residual)
    residual = keras.layers.Rescaling(_RESIDUAL_SCALE, name=f"{name}_scale")(residual)
    return keras.layers.Add(name=f"{name}_add")([x, residual])


def build_generator(seq_len: int, vocab_size: int, dim: int, noise_dim: int = NOISE_DIM) -> keras.Model:
    """Noise (B, noise_dim) float32 → character distributions (B, seq_len, vocab_size) float32."""
    _check(seq_len, vocab_size, dim)
    noise = keras.Input((noise_dim,), name="noise")
    x = keras.layers.Dense(seq_len * dim, name="input_dense")(noise)
    x = keras.layers.Reshape((seq_len, dim), name="to_sequence")(x)
    for block in range(1, RESIDUAL_BLOCKS + 1):
        x = _residual_block(x, dim, f"block{block}")
    logits = _conv(vocab_size, 1, "to_vocabulary")(x)
    probabilities = keras.layers.Softmax(axis=-1, name="softmax")(logits)
    return keras.Model(noise, probabilities, name="language_generator")


def build_discriminator(seq_len: int, vocab_size: int, dim: int) -> keras.Model:
    """One-hot or soft sequences (B, seq_len, vocab_size) float32 → scores (B,) float32."""
    _check(seq_len, vocab_size, dim)
    sequences = keras.Input((seq_len, vocab_size), name="sequences")
    x = _conv(dim, 1, "from_vocabulary")(sequences)
    for block in range(1, RESIDUAL_BLOCKS + 1):
        x = _residual_block(x, dim, f"block{block}")
    x = keras.layers.Flatten(name="flatten")(x)
    score = keras.layers.Dense(1, name="score")(x)
    score = keras.layers.Reshape((), name="per_sequence")(score)
    return keras.Model(sequences, score, name="language_critic")


def build_networks(config, vocab_size: int) -> Networks:
    """The registry's builder: ``config.seq_len`` characters of ``vocab_size`` ids,
    ``config.dim`` channels, noise N(0, 1), samples in training mode (as the original)."""
    return Networks(
        generator=build_generator(config.seq_len, vocab_size, config.dim),
        discriminator=build_discriminator(config.seq_len, vocab_size, config.dim),
        noise_dim=NOISE_DIM, noise_distribution="normal", sample_in_training_mode=True)


register(ModelEntry(
    name="language", data="text", defaults=ORIGINAL_SETTINGS, build=build_networks,
    description="the character-level Conv1D ResNets of gan_language_JSD.py"))
