"""The training scripts' absl flags, derived from the ``TrainConfig`` settings, and back.

One flag per ``TrainConfig`` field, with the field's type, default, help and limits
(``ttur_tf.config``): absl refuses an out-of-range value at parse time with the same message
``TrainConfig.validate`` gives. The scripts call ``define_training_flags(flags.FLAGS, ...)`` with
their own defaults and ``run_from_flags``, which prints the run's ``done:`` line (and, for the
language model, the first generated lines of its last evaluation); the library never reads the
global ``FLAGS`` itself.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from absl import flags

from ttur_tf import cli
from ttur_tf.config import TrainConfig, check_setting, model_defaults, setting_types
from ttur_tf.models.registry import model_names
from ttur_tf.interrupts import Interrupted, exit_code
from ttur_tf.training import train

__all__ = ["config_from_flagfile", "config_from_flags", "define_training_flags", "run_from_flags"]

PRINTED_SAMPLES = 8  # generated lines a language run prints at its end

_DEFINE = {str: flags.DEFINE_string, int: flags.DEFINE_integer, float: flags.DEFINE_float,
           bool: flags.DEFINE_boolean}


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _help(name: str, setting) -> str:
    text = setting.help
    if setting.per_model:
        per_model = ", ".join(f"{model} {_show(model_defaults(model)[name])}"
                              for model in model_names())
        text += f" Default: the model's ({per_model})."
    limits = setting.limits()
    if limits and setting.choices is None:
        text += f" Must be {limits}."
    return text


def _validator(name: str):
    def check(value) -> bool:
        try:
            check_setting(name, value)
        except ValueError as error:
            raise flags.ValidationError(str(error)) from None
        return True

    return check


def define_training_flags(flag_values: flags.FlagValues, **defaults) -> None:
    """Defines one flag per ``TrainConfig`` field; ``defaults`` override the config's defaults
    (e.g. ``model="dcgan"`` for train_dcgan.py: the per-model defaults then follow it)."""
    types = setting_types()
    for field in dataclasses.fields(TrainConfig):
        name = field.name
        setting = TrainConfig.setting(name)
        default = defaults.get(name, None if field.default is dataclasses.MISSING else field.default)
        help_text = _help(name, setting)
        if setting.choices is not None:
            flags.DEFINE_enum(name, default, setting.allowed(), help_text,
                              flag_values=flag_values)
        else:
            _DEFINE[types[name]](name, default, help_text, flag_values=flag_values)
            flags.register_validator(name, _validator(name), flag_values=flag_values)
    flags.mark_flags_as_required(["logdir", "dataset"], flag_values=flag_values)


def config_from_flags(flag_values: flags.FlagValues) -> TrainConfig:
    """The ``TrainConfig`` the parsed flags describe (per-model defaults still unresolved)."""
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
    cli.reject_extra_arguments(argv)
    with cli.user_errors_exit():
        try:
            result = train(config_from_flags(flag_values))
        except Interrupted as interrupted:
            print(_interrupted_line(interrupted), file=sys.stderr)
            sys.exit(exit_code(interrupted.signum))
    summary = f"done: step {result.step}"
    if result.last_js is not None:
        summary += "".join(f", js{n} {value:.4f}" for n, value in enumerate(result.last_js, 1))
    if result.best_fid is not None:
        summary += (f", last FID {result.last_fid}, best FID {result.best_fid} at step "
                    f"{result.best_fid_step}")
    summary += "".join(f", {name} {value:.4f}" for name, value in (result.last_scores or {}).items()
                       if name != "fid")
    print(summary)
    if result.last_samples_file is not None:
        _print_first_samples(result.last_samples_file)


def _interrupted_line(interrupted: Interrupted) -> str:
    if interrupted.step is None:
        return ("interrupted before the first step: no checkpoint was written; rerun the same "
                "command to start")
    return (f"interrupted at step {interrupted.step}: checkpoint saved; rerun the same command "
            "to resume")


def _print_first_samples(samples_file: Path, count: int = PRINTED_SAMPLES) -> None:
    """Prints the first ``count`` generated lines of ``samples_file`` as they are (the backticks
    are the corpus's padding), indented, under the file's name."""
    with open(samples_file, encoding="utf-8") as file:
        lines = [line.rstrip("\n") for line, _ in zip(file, range(count))]
    print(f"the first {len(lines)} generated lines of {samples_file}:")
    print("".join(f"    {line}\n" for line in lines), end="")
