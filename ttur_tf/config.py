"""One training run's settings, each stated once: default, limits and help.

``TrainConfig`` is the run. Each of its fields carries a ``Setting`` (help text, limits,
choices), and everything else is derived from it: ``TrainConfig.validate`` checks the limits, the
training scripts' absl flags (``ttur_tf.training_flags``) get their type, default, help and
validator from it, and ``config.json`` in a run's folder is the resolved config.

Defaults that differ between architectures come from the model: a field whose default is
``None`` and whose setting is ``per_model`` takes the value of the model's registry entry
(``ttur_tf.models.registry``: the original script's settings for ``resnet``, ``dcgan`` and
``language``, the published ones for the later architectures) when the config is ``resolved()``.
``lr`` sets both learning rates at once: the original single time-scale setting in one flag.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from pathlib import Path

from ttur_tf import augment, losses
from ttur_tf.data import text as text_data
from ttur_tf.distribute import STRATEGIES
from ttur_tf.metrics import image_metrics
from ttur_tf.models import wgan_gp_resnet
from ttur_tf.models.registry import model_entry, model_names

__all__ = [
    "CRITIC_HEADS",
    "MODELS",
    "OPTIMIZERS",
    "SPECTRAL_NORMS",
    "Setting",
    "TrainConfig",
    "check_setting",
    "model_defaults",
    "setting_types",
    "settings_that_changed",
]

MODELS = model_names()
OPTIMIZERS = ("adam", "rmsprop")
SPECTRAL_NORMS = ("none", "discriminator", "both")
PRECISIONS = ("off", "mixed_bfloat16", "mixed_float16")
CRITIC_HEADS = wgan_gp_resnet.CRITIC_HEADS


@dataclasses.dataclass(frozen=True)
class Setting:
    """What a setting means and which values it takes.

    Attributes:
        help: one sentence for ``--help``.
        minimum, maximum: bounds of a number (None: unbounded).
        exclusive_minimum, exclusive_maximum: whether the bound itself is excluded.
        choices: the allowed strings, if it is an enumeration (or a function returning them,
            for the registered models: ``allowed()`` is what is allowed now).
        per_model: its default (``None`` in ``TrainConfig``) is the model's, see ``model_defaults``.
        shapes_networks: changing it changes the networks, optimizers or tracked evaluation
            values a checkpoint holds.
    """

    help: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    choices: tuple[str, ...] | typing.Callable[[], tuple[str, ...]] | None = None
    per_model: bool = False
    shapes_networks: bool = False

    def allowed(self) -> tuple[str, ...] | None:
        """The choices allowed now (None: not an enumeration)."""
        return self.choices() if callable(self.choices) else self.choices

    def limits(self) -> str:
        """The allowed values in words, e.g. "≥ 1", "> 0", "in [0, 1)", "one of (…)" ("" if any)."""
        if self.choices is not None:
            return f"one of {self.allowed()}"
        low = None if self.minimum is None else ("(" if self.exclusive_minimum else "[", self.minimum)
        high = None if self.maximum is None else (")" if self.exclusive_maximum else "]", self.maximum)
        if low and high:
            return f"in {low[0]}{low[1]:g}, {high[1]:g}{high[0]}"
        if low:
            return f"{'>' if self.exclusive_minimum else '≥'} {low[1]:g}"
        if high:
            return f"{'<' if self.exclusive_maximum else '≤'} {high[1]:g}"
        return ""

    def check(self, name: str, value) -> None:
        """Raises ValueError naming the setting, its limits and the value if it is out of them.
        ``None`` passes (an unset per-model setting, or an unset optional one)."""
        if value is None:
            return
        if self.choices is not None:
            ok = value in self.allowed()
        else:
            ok = not (self.minimum is not None and (
                value < self.minimum or (self.exclusive_minimum and value == self.minimum)))
            ok = ok and not (self.maximum is not None and (
                value > self.maximum or (self.exclusive_maximum and value == self.maximum)))
        if not ok:
            raise ValueError(f"{name} must be {self.limits()}, got {value!r}")


def _setting(default, help: str, **limits):
    metadata = {"setting": Setting(help, **limits)}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


_POSITIVE = dict(minimum=1)
_NON_NEGATIVE = dict(minimum=0)
_RATE = dict(minimum=0.0, exclusive_minimum=True, per_model=True)
_BETA = dict(minimum=0.0, maximum=1.0, exclusive_maximum=True, per_model=True)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run (see the module docstring; ``setting(name)`` gives each field's meaning).

    Learning rates, betas and n_critic are per network (``d_``/``g_``): the two time scales.
    ``model="language"`` trains the character-level GAN on a text ``dataset``; the ``fid_*``,
    ``image_size`` and ``critic_head`` settings then do not apply, and the language ones apply to
    it only. Intervals are in steps (one step = one generator update and ``n_critic``
    discriminator updates); 0 turns FID or JSD off.
    """

    # Data and model
    logdir: str = _setting(dataclasses.MISSING, "Run folder: events, samples, checkpoints.")
    dataset: str = _setting(
        dataclasses.MISSING,
        "Images: cifar10, celeb_a, svhn_cropped, lsun/bedroom, tfds:NAME[/SPLIT], a folder of "
        "images or an .npz with a uint8 array (N, H, W, 3). Text (--model=language): builtin, "
        "lm1b, the One Billion Word folder or a text file with one example per line.")
    image_size: int | None = _setting(
        None, "Image height and width, a multiple of 16 (default: the dataset's size in the "
        "paper, else its images' shorter side).", minimum=16, shapes_networks=True)
    model: str = _setting("resnet", "Network architecture (an entry of the model registry): "
                          "resnet (the WGAN-GP ResNets), dcgan, language (the character-level "
                          "Conv1D ResNets), sngan (SNGAN's ResNets, spectral norm), sagan "
                          "(SAGAN's ResNets with self-attention), biggan (BigGAN's ResNets).",
                          choices=model_names, shapes_networks=True)
    conditional: bool = _setting(
        False, "Class-conditional generation (models sngan, sagan, biggan): the data's labels "
        "(a tfds label, one subfolder per class, an .npz's labels array) set the number of "
        "classes; conditional batch norm in the generator, a projection discriminator.",
        shapes_networks=True)
    num_classes: int = _setting(
        0, "With --conditional: the number of classes the data must have (a check; the number "
        "is always read from the data's labels); 0: whatever the data has.", minimum=0)
    attention_resolution: int | None = _setting(
        None, "Rows of the feature maps after which both networks have a self-attention block "
        "(SAGAN: 64 at 128×128; models sagan and biggan); 0: none.", minimum=0, per_model=True,
        shapes_networks=True)
    dim: int | None = _setting(None, "Width multiplier of both networks.", minimum=1,
                               per_model=True, shapes_networks=True)
    critic_head: str = _setting(
        "per_image", "The ResNet critic's output: per_image (one score per image) or original "
        "(the original's reshape to rows of 4·4·8·dim: at 32×32 each score mixes four images, as "
        "in the paper's CIFAR-10 runs; at 64×64 it equals per_image).",
        choices=CRITIC_HEADS, shapes_networks=True)
    spectral_norm: str | None = _setting(
        None, "Spectral normalization (Miyato et al. 2018: the raw kernels trained, W/σ(W) in "
        "the forward pass) of every kernel of the discriminator, of both networks, or none.",
        choices=SPECTRAL_NORMS, per_model=True, shapes_networks=True)
    orthogonal_init: bool = _setting(
        False, "Draw every kernel of both networks from an orthogonal initializer (BigGAN).")
    ortho_reg: float = _setting(
        0.0, "β of BigGAN's orthogonal regularization of the generator's kernels, β·‖WWᵀ ⊙ "
        "(1 − I)‖²_F per kernel (BigGAN: 1e-4); 0: off.", minimum=0.0)
    diffaugment: str = _setting(
        "", "DiffAugment policies applied to every image the discriminator sees, real and "
        "generated: any of color, translation, cutout, comma-separated (Zhao et al. 2020: all "
        "three for small datasets); empty: none.")
    ema_decay: float = _setting(
        0.0, "Decay of an exponential moving average of the generator's weights, kept next to "
        "it and used for samples and metrics (BigGAN: 0.9999); 0: off.", minimum=0.0,
        maximum=1.0, exclusive_maximum=True, shapes_networks=True)
    ema_start_step: int = _setting(
        0, "Steps during which the average is a copy of the generator (BigGAN: 20000).",
        minimum=0)
    # Optimization: the two time scales
    loss: str | None = _setting(None, "GAN loss.",
                                choices=tuple(sorted(losses.LOSSES)), per_model=True,
                                shapes_networks=True)
    optimizer: str = _setting("adam", "Optimizer of both networks (each has its own instance).", choices=OPTIMIZERS, shapes_networks=True)
    lr: float | None = _setting(
        None, "One learning rate for both networks: the original single time-scale setting. "
        "Give it or d_lr and g_lr, not both.", minimum=0.0,
        exclusive_minimum=True)
    d_lr: float | None = _setting(None, "Discriminator learning rate.", **_RATE)
    g_lr: float | None = _setting(None, "Generator learning rate.", **_RATE)
    d_beta1: float | None = _setting(None, "Discriminator Adam beta1.", **_BETA)
    d_beta2: float | None = _setting(None, "Discriminator Adam beta2.", **_BETA)
    g_beta1: float | None = _setting(None, "Generator Adam beta1.", **_BETA)
    g_beta2: float | None = _setting(None, "Generator Adam beta2.", **_BETA)
    adam_epsilon: float = _setting(1e-8, "Adam epsilon (TF1's default; Keras 3's is 1e-7).", minimum=0.0, exclusive_minimum=True)
    n_critic: int = _setting(1, "Discriminator updates per generator update (TTUR: 1).", **_POSITIVE)
    update_rule: str = _setting(
        "alternating", "How the players' updates are ordered (each keeps its optimizer and "
        "learning rate): alternating (the original: generator, then critic), simultaneous (both "
        "gradients at the same point), extragradient (an extrapolation step of both, then the "
        "update with the gradients there), optimistic (the update uses 2 g_t - g_(t-1)). All "
        "four run under every --strategy.",
        choices=("alternating", "simultaneous", "extragradient", "optimistic"),
        shapes_networks=True)
    regularizer: str = _setting(
        "", "The discriminator's regularizer (Mescheder et al. 2018): gp (WGAN-GP, --gp_weight), "
        "r1 / r2 (--regularizer_weight/2 times E|grad D|^2 on real / fake samples), "
        "instance_noise (N(0, sigma^2) on every sample the discriminator sees, sigma from "
        "--instance_noise annealed linearly to 0 over --steps), none; empty: gp for the wgan-gp "
        "loss, none otherwise.", choices=("",) + losses.REGULARIZERS)
    regularizer_weight: float = _setting(10.0, "gamma of the r1 and r2 regularizers.",
                                         minimum=0.0)
    instance_noise: float = _setting(0.1, "Initial sigma of instance noise (pixel units of "
                                     "[-1, 1] images).", minimum=0.0)
    gp_weight: float = _setting(10.0, "Gradient penalty weight lambda (wgan-gp).",
                                **_NON_NEGATIVE)
    batch_size: int = _setting(64, "Batch size of each update.", **_POSITIVE)
    steps: int | None = _setting(None, "Training steps (generator updates) in total, resumed "
                                 "ones included.", minimum=1, per_model=True)
    seed: int = _setting(0, "Seed of the initial weights, noise, data order and evaluation.", **_NON_NEGATIVE)
    jit_compile: bool = _setting(
        False, "Compile train_step with XLA. On a 2-core CPU, through fit: 0.90x the default "
        "speed for the language model (dim 64), 1.00x for the 32x32 ResNet; on a GPU measure "
        "with benchmarks/bench_train_step.py before a long run (TPUs always compile).")
    mixed_precision: str = _setting(
        "off", "Compute both networks in 16 bits (variables stay float32; the critic's scores, "
        "the losses and the gradient penalty in float32): mixed_bfloat16 (TPUs, recent GPUs), "
        "mixed_float16 (GPUs, with dynamic loss scaling) or off.", choices=PRECISIONS,
        shapes_networks=True)
    # Devices
    strategy: str = _setting(
        "default", "Where the run trains: default (one device), mirrored (the local GPUs, or "
        "--devices), multi_worker (the cluster in $TF_CONFIG, each worker with its local GPUs), "
        "tpu (--tpu). The global --batch_size is split over the replicas.", choices=STRATEGIES)
    devices: str = _setting("", "Comma-separated devices for --strategy=mirrored, e.g. "
                            "/gpu:0,/gpu:1 (default: all local GPUs).")
    tpu: str = _setting("", "The TPU's name or address for --strategy=tpu (default: the local "
                        "one).")
    sync_batch_norm: bool = _setting(
        False, "Batch normalization statistics over all replicas (equal to one device with the "
        "global batch); off: each replica's own batch, as the original's multi-GPU towers.")
    # Evaluation and bookkeeping
    log_every: int = _setting(100, "Scalar summary interval (steps).", **_POSITIVE)
    sample_every: int = _setting(200, "Sample grid interval (steps).", **_POSITIVE)
    checkpoint_every: int | None = _setting(None, "Checkpoint interval (steps).",
                                            minimum=1, per_model=True)
    max_checkpoints: int = _setting(5, "Checkpoints kept.", **_POSITIVE)
    resume: bool = _setting(True, "Resume from the latest checkpoint in --logdir.")
    fid_every: int | None = _setting(None, "FID interval (steps); 0: no FID (images).", minimum=0, per_model=True)
    fid_num_samples: int = _setting(50_000, "Generated images per FID (the paper: 50,000).", minimum=2)
    fid_sample_batch_size: int = _setting(1000, "Images generated per call for FID.", **_POSITIVE)
    fid_batch_size: int = _setting(
        50, "Images per Inception call on each replica. It sets memory and speed, never the FID "
        "(every sample is used): each image of a batch holds at least 8 MiB of the real graph's "
        "activations (its largest layer's input and output); on a 2-core CPU 50 ran as fast as "
        "200 (the original scripts' value) with 340 MiB less peak memory on the stand-in graph.",
        **_POSITIVE)
    metrics: str = _setting(
        "fid", "Image metrics every --fid_every steps, on the same generated samples "
        "(comma-separated): fid, kid (and kid_std), is (inception_score), pr (precision and "
        "recall). kid and pr keep the samples' features (8 KiB each) and need reference "
        "features (computed from the training data, or --fid_stats written with "
        "precalc_stats.py --features).", shapes_networks=True)
    lr_schedule: str = _setting(
        "constant", "constant, or kid_adaptive (Binkowski et al. 2018): at each evaluation a "
        "relative three-sample test on KID compares the generator with the one "
        "--lr_test_memory evaluations earlier; after --lr_patience tests in a row without "
        "improvement both learning rates are multiplied by --lr_decay_factor (their TTUR ratio "
        "kept). Needs kid in --metrics.", choices=("constant", "kid_adaptive"),
        shapes_networks=True)
    lr_decay_factor: float = _setting(0.5, "kid_adaptive: the decay factor (the paper's code: "
                                      "0.5).", minimum=0.0, exclusive_minimum=True,
                                      maximum=1.0, exclusive_maximum=True)
    lr_patience: int = _setting(3, "kid_adaptive: failed tests in a row before a decay (the "
                                "paper's code: 3).", **_POSITIVE)
    lr_test_memory: int = _setting(10, "kid_adaptive: the test compares with the generator this "
                                   "many evaluations earlier (the paper's code: 10, i.e. 20,000 "
                                   "steps at its 2,000-step evaluations).", **_POSITIVE)
    lr_test_samples: int = _setting(2048, "kid_adaptive: features per set in the test (the "
                                    "paper's code: 2048).", minimum=3)
    lr_test_p_value: float = _setting(0.1, "kid_adaptive: a test with a p-value above this "
                                      "counts as no improvement (the paper's code: 0.1).",
                                      minimum=0.0, exclusive_minimum=True, maximum=1.0)
    fid_stats: str = _setting("", "Reference statistics .npz; empty: computed once from the "
                              "training data and cached in --logdir.")
    inception_path: str = _setting("", "The frozen Inception graph file or folder (default "
                                   "lookup if empty).")
    # Language model
    seq_len: int = _setting(32, "Characters per line (language).", minimum=1,
                            shapes_networks=True)
    max_n_examples: int = _setting(10_000_000, "Lines read from the corpus at most (language).", **_POSITIVE)
    max_vocab_size: int = _setting(2048, "Character ids, 'unk' included (language).",
                                   minimum=2)
    encoding: str = _setting("utf-8", "Text encoding of corpus files (language).")
    jsd_every: int = _setting(100, "n-gram JSD interval (steps); 0: no JSD (language).", **_NON_NEGATIVE)
    jsd_ngrams: int = _setting(6, "JSD of n-grams for n = 1…jsd_ngrams (language).",
                               **_POSITIVE)
    jsd_num_batches: int = _setting(10, "Batches of generated lines per JSD (language).", **_POSITIVE)

    def resolved(self) -> "TrainConfig":
        """This config with every per-model default filled in and ``lr`` spread to both rates.

        Raises:
            ValueError: an unknown model, or ``lr`` given together with a different d_lr/g_lr.
        """
        check_setting("model", self.model)
        values = dict(model_defaults(self.model))
        values.update({name: value for name, value in dataclasses.asdict(self).items()
                       if value is not None})
        if self.lr is not None:
            for name in ("d_lr", "g_lr"):
                given = getattr(self, name)
                if given is not None and given != self.lr:
                    raise ValueError(f"give lr ({self.lr:g}: both networks) or d_lr and g_lr, "
                                     f"not both ({name} = {given:g})")
                values[name] = self.lr
        return TrainConfig(**values)

    def validate(self) -> None:
        """Raises ValueError naming the first setting that is out of its limits (after resolving)."""
        config = self.resolved()
        for field in dataclasses.fields(config):
            check_setting(field.name, getattr(config, field.name))
        text_data.check_encoding(config.encoding)
        text = model_entry(config.model).data == "text"
        if text and config.jsd_every and config.seq_len < config.jsd_ngrams:
            raise ValueError(f"seq_len ({config.seq_len}) must be ≥ jsd_ngrams ({config.jsd_ngrams})")
        metrics = image_metrics.parse_metrics(config.metrics)
        if metrics != ("fid",) and config.strategy == "multi_worker":
            raise ValueError(f"metrics={config.metrics}: under strategy=multi_worker only fid is "
                             "computed (its moments merge across hosts; kid, is and pr would need "
                             "every sample's features on one host)")
        if config.lr_schedule == "kid_adaptive":
            if "kid" not in metrics or not config.fid_every:
                raise ValueError("lr_schedule=kid_adaptive tests KID at each evaluation: add kid "
                                 "to --metrics and set --fid_every")
            if config.fid_num_samples < config.lr_test_samples:
                raise ValueError(
                    f"lr_schedule=kid_adaptive: fid_num_samples ({config.fid_num_samples}) must be "
                    f"at least lr_test_samples ({config.lr_test_samples})")
        augment.parse_policies(config.diffaugment)
        if config.diffaugment and text:
            raise ValueError(f"diffaugment={config.diffaugment} augments images: model "
                             f"{config.model} trains on text")
        if config.num_classes and not config.conditional:
            raise ValueError(f"num_classes={config.num_classes} is for class-conditional "
                             "training: add --conditional")
        if config.conditional and not model_entry(config.model).conditional:
            raise ValueError(f"conditional: model={config.model} has no class-conditional "
                             "networks; use one of " + ", ".join(
                                 name for name in model_names() if model_entry(name).conditional))
        if config.attention_resolution and not model_entry(config.model).attention:
            raise ValueError(f"attention_resolution: model={config.model} has no self-attention "
                             "block; use one of " + ", ".join(
                                 name for name in model_names() if model_entry(name).attention))
        if config.critic_head != "per_image" and config.model != "resnet":
            raise ValueError(f"critic_head={config.critic_head} is a head of the ResNet critic "
                             f"(model=resnet), not of model={config.model}")

    def to_json(self) -> str:
        """The resolved settings as JSON (the run folder's ``config.json``)."""
        return json.dumps(dataclasses.asdict(self.resolved()), indent=2, sort_keys=True)

    @staticmethod
    def setting(name: str) -> Setting:
        """The ``Setting`` of a field."""
        return _settings()[name]


@functools.cache
def _settings() -> dict[str, Setting]:
    return {field.name: field.metadata["setting"] for field in dataclasses.fields(TrainConfig)}


@functools.cache
def setting_types() -> dict[str, type]:
    """Field name → its value type (str, int, float or bool), without the ``None`` option."""
    hints = typing.get_type_hints(TrainConfig)
    return {name: next(t for t in typing.get_args(hint) or (hint,) if t is not type(None))
            for name, hint in hints.items()}


def check_setting(name: str, value) -> None:
    """Raises ValueError if ``value`` is outside the limits of the setting ``name``."""
    TrainConfig.setting(name).check(name, value)


def model_defaults(model: str) -> dict:
    """The per-model defaults: the original script's values for ``model`` (see the module
    docstring); a key for every ``per_model`` setting."""
    return dict(model_entry(model).defaults)


def settings_that_changed(saved_json: str | Path, config: TrainConfig) -> dict[str, tuple]:
    """Settings whose value in ``config`` (resolved) differs from a saved ``config.json``.

    Args:
        saved_json: the JSON text, or the path of the file.
        config: the settings of this run.

    Returns:
        {name: (saved value, new value)}; a setting the file does not record is not compared.

    Raises:
        OSError: the file cannot be read; ValueError: it is not JSON.
    """
    text = saved_json.read_text() if isinstance(saved_json, Path) else saved_json
    saved = json.loads(text)
    current = dataclasses.asdict(config.resolved())
    return {name: (saved[name], value) for name, value in current.items()
            if name in saved and saved[name] != value}
