"""Helpers shared by the command-line scripts: user-facing errors, running a script, determinism.

Library code raises ordinary exceptions with messages written for users; scripts run their work
inside ``user_errors_exit()`` so that such an error ends the program with that message and exit
status 1 instead of a traceback, and Ctrl-C or SIGTERM with one line and status 130 or 143.

Each script defines its flags in ``define_flags(flag_values)`` and does its work in
``main(argv, flag_values)``; ``run_script(define_flags, main)`` runs it on absl's global flags.
Tests build a fresh ``flags.FlagValues`` and call the same two functions in-process.
"""

from __future__ import annotations

import contextlib
import sys

from absl import app, flags

from ttur_tf.errors import USER_ERRORS
from ttur_tf.interrupts import Interrupted, exit_code, raise_on_signals

__all__ = ["enable_determinism", "reject_extra_arguments", "run_script", "user_errors_exit"]


@contextlib.contextmanager
def user_errors_exit(interrupted_outcome: str = "nothing partial was written"):
    """Turns the errors a user can fix into a one-line message on stderr and exit status 1,
    and SIGINT/SIGTERM (``Interrupted``) into one line saying ``interrupted_outcome`` and
    exit status 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    try:
        with raise_on_signals():
            yield
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except Interrupted as interrupted:
        print(f"interrupted: {interrupted_outcome}", file=sys.stderr)
        sys.exit(exit_code(interrupted.signum))


def run_script(define_flags, main) -> None:
    """A script's entry point: defines its flags on absl's global ``FLAGS`` and runs ``main``."""
    define_flags(flags.FLAGS)
    app.run(lambda argv: main(argv, flags.FLAGS))


def reject_extra_arguments(argv: list[str]) -> None:
    """Scripts take flags only: stray words are a usage error (absl prints the usage)."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")


def enable_determinism(seed: int = 0) -> None:
    """Makes TensorFlow ops deterministic (repeated runs give bit-identical features)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
