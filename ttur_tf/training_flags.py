"""The training scripts' absl flags and their translation into a ``TrainConfig``.

The scripts call ``define_training_flags(flags.FLAGS, ...)`` with their own defaults and
``config_from_flags(flags.FLAGS)``; the library never reads the global ``FLAGS`` itself. Ranges are
checked by absl at parse time (a bad value exits with a message naming the flag).
"""

from __future__ import annotations

import dataclasses

from absl import app, flags

from ttur_tf import cli

from ttur_tf import losses
from ttur_tf.training import MODELS, OPTIMIZERS, TrainConfig, train

__all__ = ["config_from_flagfile", "config_from_flags", "define_training_flags", "run_from_flags"]

_UNIT = dict(lower_bound=0.0, upper_bound=0.999999)


def define_training_flags(flag_values: flags.FlagValues, **defaults) -> None:
    """Defines one flag per ``TrainConfig`` field; ``defaults`` override the config's defaults."""
    base = {field.name: None if field.default is dataclasses.MISSING else field.default
            for field in dataclasses.fields(TrainConfig)}
    base.update(defaults)

    def default(name):
        return base.get(name)

    fv = dict(flag_values=flag_values)
    # Data and model
    flags.DEFINE_string("logdir", default("logdir"), "Run directory: events, samples, checkpoints.", **fv)
    flags.DEFINE_string("dataset", default("dataset"),
                        "Images: cifar10, celeb_a, svhn_cropped, lsun/bedroom, tfds:NAME[/SPLIT], a "
                        "folder of images or an .npz with a uint8 array (N, H, W, 3). Text "
                        "(--model=language): builtin, lm1b, the One Billion Word folder or a text "
                        "file with one example per line.", **fv)
    flags.DEFINE_integer("image_size", default("image_size"),
                         "Image height/width (default: the dataset's size in the paper; images).",
                         lower_bound=16, **fv)
    flags.DEFINE_enum("model", default("model"), MODELS, "Network architecture.", **fv)
    flags.DEFINE_integer("dim", default("dim"), "Width multiplier (64; 32 for CIFAR-10 ResNets).",
                         lower_bound=1, **fv)
    # Optimization: the two time scales
    flags.DEFINE_enum("loss", default("loss"), sorted(losses.LOSSES), "GAN loss.", **fv)
    flags.DEFINE_enum("optimizer", default("optimizer"), OPTIMIZERS,
                      "Optimizer of both networks (each has its own instance).", **fv)
    flags.DEFINE_float("d_lr", default("d_lr"), "Discriminator learning rate.", lower_bound=0.0, **fv)
    flags.DEFINE_float("g_lr", default("g_lr"), "Generator learning rate.", lower_bound=0.0, **fv)
    flags.DEFINE_float("d_beta1", default("d_beta1"), "Discriminator Adam beta1.", **_UNIT, **fv)
    flags.DEFINE_float("d_beta2", default("d_beta2"), "Discriminator Adam beta2.", **_UNIT, **fv)
    flags.DEFINE_float("g_beta1", default("g_beta1"), "Generator Adam beta1.", **_UNIT, **fv)
    flags.DEFINE_float("g_beta2", default("g_beta2"), "Generator Adam beta2.", **_UNIT, **fv)
    flags.DEFINE_float("adam_epsilon", default("adam_epsilon"), "Adam epsilon (TF1: 1e-8).",
                       lower_bound=0.0, **fv)
    flags.DEFINE_integer("n_critic", default("n_critic"),
                         "Discriminator updates per generator update.", lower_bound=1, **fv)
    flags.DEFINE_float("gp_weight", default("gp_weight"), "Gradient penalty lambda (wgan-gp).",
                       lower_bound=0.0, **fv)
    flags.DEFINE_integer("batch_size", default("batch_size"), "Batch size.", lower_bound=1, **fv)
    flags.DEFINE_integer("steps", default("steps"),
                         "Training steps (generator updates) in total, including resumed ones.",
                         lower_bound=1, **fv)
    flags.DEFINE_integer("seed", default("seed"), "Seed of noise, data order and evaluation.",
                         lower_bound=0, **fv)
    flags.DEFINE_boolean("jit_compile", default("jit_compile"), "Compile train_step with XLA.", **fv)
    # Evaluation and bookkeeping
    flags.DEFINE_integer("log_every", default("log_every"), "Scalar summary interval (steps).",
                         lower_bound=1, **fv)
    flags.DEFINE_integer("sample_every", default("sample_every"), "Sample grid interval (steps).",
                         lower_bound=1, **fv)
    flags.DEFINE_integer("checkpoint_every", default("checkpoint_every"),
                         "Checkpoint interval (steps).", lower_bound=1, **fv)
    flags.DEFINE_integer("max_checkpoints", default("max_checkpoints"), "Checkpoints kept.",
                         lower_bound=1, **fv)
    flags.DEFINE_boolean("resume", default("resume"),
                         "Resume from the latest checkpoint in --logdir.", **fv)
    flags.DEFINE_integer("fid_every", default("fid_every"),
                         "FID interval (steps); 0: no FID (images).",
                         lower_bound=0, **fv)
    flags.DEFINE_integer("fid_num_samples", default("fid_num_samples"),
                         "Generated images per FID (the paper: 50,000).", lower_bound=2, **fv)
    flags.DEFINE_integer("fid_sample_batch_size", default("fid_sample_batch_size"),
                         "Images generated per call for FID.", lower_bound=1, **fv)
    flags.DEFINE_integer("fid_batch_size", default("fid_batch_size"),
                         "Images per Inception call.", lower_bound=1, **fv)
    flags.DEFINE_string("fid_stats", default("fid_stats"),
                        "Reference statistics .npz; empty: computed once from the training data "
                        "and cached in --logdir.", **fv)
    flags.DEFINE_string("inception_path", default("inception_path"),
                        "The frozen Inception graph file or folder (default lookup if empty).", **fv)
    # Language model
    flags.DEFINE_integer("seq_len", default("seq_len"), "Characters per line (language).",
                         lower_bound=1, **fv)
    flags.DEFINE_integer("max_n_examples", default("max_n_examples"),
                         "Lines read from the corpus at most (language).", lower_bound=1, **fv)
    flags.DEFINE_integer("max_vocab_size", default("max_vocab_size"),
                         "Character ids, 'unk' included (language).", lower_bound=2, **fv)
    flags.DEFINE_integer("jsd_every", default("jsd_every"),
                         "n-gram JSD interval (steps); 0: no JSD (language).", lower_bound=0, **fv)
    flags.DEFINE_integer("jsd_ngrams", default("jsd_ngrams"),
                         "JSD of n-grams for n = 1…jsd_ngrams (language).", lower_bound=1, **fv)
    flags.DEFINE_integer("jsd_num_batches", default("jsd_num_batches"),
                         "Batches of generated lines per JSD (language).", lower_bound=1, **fv)
    flags.mark_flags_as_required(["logdir", "dataset"], flag_values=flag_values)


def config_from_flags(flag_values: flags.FlagValues) -> TrainConfig:
    """The ``TrainConfig`` the parsed flags describe."""
    return TrainConfig(**{field.name: flag_values[field.name].value
                          for field in dataclasses.fields(TrainConfig)})


def config_from_flagfile(flagfile, **overrides) -> TrainConfig:
    """The ``TrainConfig`` a script would run for ``--flagfile=flagfile --name=value …``."""
    flag_values = flags.FlagValues()
    define_training_flags(flag_values)
    flag_values(["train", f"--flagfile={flagfile}",
                 *(f"--{name}={value}" for name, value in overrides.items())])
    return config_from_flags(flag_values)


def run_from_flags(argv: list[str], flag_values: flags.FlagValues) -> None:
    """A training script's ``main``: trains (or resumes) the run the flags describe."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    with cli.user_errors_exit():
        result = train(config_from_flags(flag_values))
    if result.last_js is not None:
        values = ", ".join(f"js{n} {value:.4f}" for n, value in enumerate(result.last_js, 1))
        print(f"done: step {result.step}, {values}")
    else:
        print(f"done: step {result.step}, last FID {result.last_fid}, best FID "
              f"{result.best_fid} at step {result.best_fid_step}")
