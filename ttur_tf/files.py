"""Writing files so that a crash never leaves a half-written one: write beside it, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_bytes_atomically"]


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Writes ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    The folder is created if needed; on any error the temporary file is removed and ``path`` is
    left as it was. Returns ``path`` as a ``Path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=path.suffix + ".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
