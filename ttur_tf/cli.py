"""Helpers shared by the command-line scripts: user-facing errors and determinism.

Library code raises ordinary exceptions with messages written for users; scripts run their work
inside ``user_errors_exit()`` so that such an error ends the program with that message and exit
status 1 instead of a traceback.
"""

from __future__ import annotations

import contextlib
import sys

import keras
import tensorflow as tf

from ttur_tf.callbacks import NonFiniteLossError
from ttur_tf.fid.inception import InceptionGraphError

__all__ = ["USER_ERRORS", "enable_determinism", "user_errors_exit"]

USER_ERRORS = (
    FileNotFoundError, NotADirectoryError, ValueError, InceptionGraphError, NonFiniteLossError
)


@contextlib.contextmanager
def user_errors_exit():
    """Turns the errors a user can fix into a one-line message on stderr and exit status 1."""
    try:
        yield
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


def enable_determinism(seed: int = 0) -> None:
    """Makes TensorFlow ops deterministic (repeated runs give bit-identical features)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
