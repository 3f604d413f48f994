"""Writing outputs so that a failure is a clear message and a crash never leaves a partial file.

* Every file is written beside its target under a temporary name, flushed to disk, then renamed
  over the target (``os.replace``, atomic on POSIX): readers see the old file or the new one.
* The temporary file is removed when the write fails; one left behind by a killed process
  (``.NAME.tmp-HOST-PID``) is removed by the next write to the same folder from the same host once
  that process is gone, so they never accumulate.
* Files get the permissions the user's umask gives (like ``open``), not the 0600 of ``mkstemp``.
* ``OSError``s become ``OutputError`` naming the path and what to do (read-only, full disk, a
  file where a folder should be…); ``check_writable_folder`` finds these before expensive work.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ttur_tf.errors import OutputError

__all__ = [
    "HOST",
    "atomic_output",
    "check_writable_folder",
    "output_error",
    "npz_keys",
    "process_is_gone",
    "read_npz",
    "remove_stale_temporaries",
    "temporary_path_for",
    "write_bytes_atomically",
]

HOST = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<host>[A-Za-z0-9_.]+)-(?P<pid>\d+)$")


def _file_in_the_way(path: Path) -> Path | None:
    """The first of ``path`` and its parents that exists but is not a folder."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def output_error(path: str | os.PathLike, error: OSError) -> OutputError:
    """An ``OutputError`` for a failed write of ``path``: what went wrong and what to do."""
    path = Path(path)
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        message = f"cannot write {path}: {reason}; free some space there or write to another disk"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        message = (f"cannot write {path}: {reason}; choose a location you can write to, or "
                   "change its permissions")
    elif error.errno in (errno.ENOTDIR, errno.EEXIST) and _file_in_the_way(path):
        message = (f"cannot write {path}: {_file_in_the_way(path)} is a file, not a folder; move "
                   "it away or choose another path")
    elif error.errno == errno.EISDIR:
        message = f"cannot write {path}: it is a folder; choose a file name"
    else:
        message = f"cannot write {path}: {reason}"
    output = OutputError(message)
    output.errno = error.errno
    return output


def temporary_path_for(path: Path) -> Path:
    """Where this process writes ``path``'s new content before renaming (or linking) it."""
    return path.parent / f".{path.name}.tmp-{HOST}-{os.getpid()}"


def process_is_gone(pid: int) -> bool:
    """Whether no process with ``pid`` runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def remove_stale_temporaries(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Removes temporary files that processes of this host left in ``folder`` when killed.

    Args:
        folder: the folder to clean (nothing happens if it does not exist).
        name: only the temporaries of this target file name; None: all of them.

    Returns:
        The removed paths.
    """
    folder = Path(folder)
    removed = []
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            match = _TEMPORARY.match(entry.name)
            if (match and (name is None or match["name"] == name) and match["host"] == HOST
                    and process_is_gone(int(match["pid"]))):
                with contextlib.suppress(OSError):
                    entry.unlink()
                    removed.append(entry)
    return removed


def _make_folder(folder: Path, target: Path) -> None:
    """Creates ``folder`` (and its parents) for writing ``target`` (named in errors)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a file in the way (at the folder or above it), read-only…
        raise output_error(target, error) from error
    if not folder.is_dir():
        raise output_error(target, NotADirectoryError(errno.ENOTDIR, "not a folder"))


def check_writable_folder(folder: str | os.PathLike) -> Path:
    """Creates ``folder`` if needed and checks that a file can be written in it.

    Call it before expensive work whose result goes there.

    Raises:
        OutputError: the folder cannot be created or written (the message says why).
    """
    folder = Path(folder)
    _make_folder(folder, folder)
    probe = temporary_path_for(folder / "write-check")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
    except OSError as error:
        raise output_error(folder, error) from error
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return folder


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into; it replaces ``path`` on success.

    The folder is created if needed. On any error the temporary file is removed, ``path`` is
    left as it was, and an ``OSError`` is raised as ``OutputError``.
    """
    path = Path(path)
    _make_folder(path.parent, path)
    if path.is_dir():
        raise output_error(path, IsADirectoryError(errno.EISDIR, "it is a folder"))
    remove_stale_temporaries(path.parent, path.name)
    temporary = temporary_path_for(path)
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        with os.fdopen(handle, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(error, OSError) and not isinstance(error, OutputError):
            raise output_error(path, error) from error
        raise


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Writes ``data`` to ``path`` atomically (see ``atomic_output``); returns ``path``."""
    path = Path(path)
    with atomic_output(path) as out:
        out.write(data)
    return path


def _open_npz(path: str | os.PathLike, kind: str):
    """``np.load`` of an .npz archive (pickles refused), after checking that it is one: NumPy
    would otherwise read other bytes as a pickle or a .npy and fail with a message about those.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is empty or not an .npz archive (names the file and ``kind``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (expected {kind})")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is not {kind}: the file is empty (an interrupted copy?)")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not {kind}: it is not an .npz archive")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not {kind}: it cannot be read as an .npz archive "
                         f"({error})") from error


def npz_keys(path: str | os.PathLike, kind: str) -> list[str]:
    """The names of the arrays of an .npz file (see ``read_npz`` for the errors)."""
    with _open_npz(path, kind) as archive:
        return list(archive.files)


def read_npz(path: str | os.PathLike, kind: str) -> dict[str, np.ndarray]:
    """Every array of an .npz file, for ``kind`` of file (e.g. "an FID statistics file", named
    in errors). Pickled (object) arrays are refused.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is empty, not an .npz archive, or has an array that cannot be read;
            the message names the file and says it is not ``kind``.
    """
    with _open_npz(path, kind) as archive:
        try:
            return {key: archive[key] for key in archive.files}
        except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path} is not {kind}: an array in it cannot be read "
                             f"({error})") from error
