"""The errors a user can fix, each with a message that says what to do.

Scripts turn exactly these into one line ``error: …`` and exit status 1 (``cli.user_errors_exit``);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import re

__all__ = [
    "CheckpointError",
    "InceptionGraphError",
    "NonFiniteLossError",
    "OutputError",
    "USER_ERRORS",
    "first_line",
]

_TENSORFLOW_DECORATIONS = re.compile(r"^\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\].*$")


class InceptionGraphError(RuntimeError):
    """The Inception graph is missing, cannot be downloaded, or is not the expected graph."""


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; training stopped before saving the broken state."""


class OutputError(OSError):
    """An output file or folder cannot be written (read-only, full disk, a file in the way…)."""


class CheckpointError(RuntimeError):
    """A run's checkpoints cannot be resumed (none restores, or other settings wrote them)."""


USER_ERRORS = (
    FileNotFoundError,
    NotADirectoryError,
    ValueError,
    OutputError,
    CheckpointError,
    InceptionGraphError,
    NonFiniteLossError,
)


def first_line(error: BaseException) -> str:
    """The first line of an error's message, without TensorFlow's ``{{function_node …}}`` prefix
    and ``[Op:…]`` suffix (the error's type name if it has no message)."""
    text = str(getattr(error, "message", "") or error).strip()
    line = text.splitlines()[0] if text else ""
    return _TENSORFLOW_DECORATIONS.sub("", line) or type(error).__name__
