"""One writer per output: a lock file that a second process on the same output is refused by.

A run holds ``<logdir>/.lock`` (``precalc_stats.py`` holds ``<out>.lock``, a sweep its output
folder's) while it writes there. Two runs on one folder would otherwise both run to the end and
write into each other's checkpoints and events.

* The lock is taken atomically: its content (host, pid, the process's start time, when and what
  started it) is written to a temporary file first, which is then hard-linked to the lock name;
  the link fails if the lock exists. ``link`` is atomic on local file systems and on NFS (the
  classic NFS-safe lock), so the lock file is never seen half written.
* A lock whose process no longer exists on this host (or whose pid now belongs to a newer
  process) is taken over with a warning. A lock held on another host is never taken over: the
  message names the holder and says to delete the file if that run is known to be gone.
* The lock is removed when its holder ends (also on an error or a signal); a process killed with
  SIGKILL leaves it behind, to be taken over by the next run on this host.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys
from pathlib import Path

from absl import logging

from ttur_tf.errors import OutputError
from ttur_tf.files import HOST, output_error, process_is_gone, temporary_path_for

__all__ = ["LOCK_FILE", "OutputInUseError", "RunLock"]

LOCK_FILE = ".lock"


class OutputInUseError(OutputError):
    """Another process holds the lock of the output this one would write."""


def _start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot, Linux's /proc); None where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return int(fields[19])  # field 22 of stat: starttime
    except (OSError, ValueError, IndexError):
        return None


def _holder_is_gone(holder: dict) -> bool:
    """Whether the process that wrote ``holder`` has ended (only decidable on its own host)."""
    if holder.get("host") != HOST:
        return False
    pid = int(holder.get("pid", -1))
    if pid <= 0 or process_is_gone(pid):
        return True
    recorded, current = holder.get("start_ticks"), _start_ticks(pid)
    return recorded is not None and current is not None and recorded != current  # pid reused


def _describe(holder: dict) -> str:
    return (f"process {holder.get('pid', '?')} on host {holder.get('host', '?')}, started "
            f"{holder.get('started', '?')} ({holder.get('command', '?')})")


class RunLock:
    """The lock of one output, as a context manager.

    Args:
        lock_path: the lock file (e.g. ``logdir / ".lock"``).
        what: the output it protects, for messages (e.g. "the log folder /x").
        advice: what to do when it is in use (e.g. "use another --logdir").

    Raises (on entering):
        OutputInUseError: a live process holds the lock; the message names it.
        OutputError: the lock cannot be written (read-only folder…).
    """

    def __init__(self, lock_path: str | os.PathLike, what: str, advice: str):
        self.path = Path(lock_path)
        self.what = what
        self.advice = advice
        self._content = {
            "host": HOST,
            "pid": os.getpid(),
            "start_ticks": _start_ticks(os.getpid()),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv) or "python",
        }

    def _read_holder(self) -> dict | None:
        """The holder's record; None if the lock is gone; {} if it cannot be read."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def _try_link(self) -> bool:
        """Creates the lock from a complete temporary file; False if the lock exists."""
        temporary = temporary_path_for(self.path)
        try:
            temporary.write_text(json.dumps(self._content), encoding="utf-8")
            try:
                os.link(temporary, self.path)
            except FileExistsError:
                return False
            return True
        except OSError as error:
            raise output_error(self.path, error) from error
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink()

    def _take_over(self, holder: dict) -> None:
        """Moves a stale lock aside (only one of several processes doing so succeeds)."""
        aside = self.path.with_name(f"{self.path.name}.stale-{HOST}-{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            os.rename(self.path, aside)
            aside.unlink()
            logging.warning("%s was locked by %s, which no longer runs: lock taken over",
                            self.what, _describe(holder))

    def __enter__(self) -> "RunLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise output_error(self.path.parent, error) from error
        for _ in range(3):  # a stale lock taken over, or one released meanwhile: try again
            if self._try_link():
                return self
            holder = self._read_holder()
            if holder is None:
                continue
            if holder and _holder_is_gone(holder):
                self._take_over(holder)
                continue
            who = _describe(holder) if holder else "an unknown process (unreadable lock file)"
            raise OutputInUseError(
                f"{self.what} is in use by {who}: wait for it to end or {self.advice} (if that "
                f"process is gone, delete {self.path})"
            )
        raise OutputInUseError(f"could not lock {self.what} ({self.path} keeps changing): "
                               f"{self.advice}")

    def __exit__(self, *exc_info) -> None:
        if self._read_holder() == self._content:
            with contextlib.suppress(OSError):
                self.path.unlink()
