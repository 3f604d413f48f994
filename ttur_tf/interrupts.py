"""Ending a run on SIGINT (Ctrl-C) or SIGTERM (a preempted VM, a cluster scheduler) without loss.

While ``StopRequests`` is active it owns both signals:

* the first one is recorded and announced on stderr. Inside an ``abortable()`` section (set-up,
  an evaluation's sampling and scoring) it raises ``Interrupted`` at once; elsewhere (a train
  step, a checkpoint or file write) the work goes on, and ``Interrupted`` is raised at the next
  ``check()`` (a step boundary). Training then saves the steps done and ends with one line;
* a second signal has its default action: the process ends at once (files are written
  atomically, so it leaves no partial file; the steps since the last checkpoint are lost).

An evaluation abandoned at step N is recorded in ``PendingEvaluations`` (a small JSON file beside
the checkpoints) before the checkpoint of step N is written, so the resumed run does it again.

In a multi-worker run a signal may reach one worker only (a preempted VM), and every worker must
stop at the same step and take part in its checkpoint: ``WorkersStopTogether`` lets TensorFlow's
``PreemptionCheckpointHandler`` agree on that step through the cluster's coordination service.

Scripts that compute without checkpoints (precalc_stats.py, fid.py) use ``raise_on_signals``:
either signal raises ``Interrupted`` wherever the program is, and their atomic writes leave
nothing partial.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from ttur_tf.files import write_bytes_atomically

__all__ = [
    "Interrupted",
    "PendingEvaluations",
    "SIGNALS",
    "StopRequests",
    "exit_code",
    "raise_on_signals",
]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_code(signum: int) -> int:
    """The exit status of a program ended by ``signum``, as shells report it: 128 + signum
    (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(signum)


class Interrupted(BaseException):
    """The run was asked to stop by a signal. Like ``KeyboardInterrupt`` it is not an
    ``Exception``: code that handles errors with ``except Exception`` (a checkpoint that does not
    read, say) must not mistake a signal for one of them.

    Attributes:
        signum: the signal's number.
        step: the training step at which the run stopped (None outside training).
    """

    def __init__(self, signum: int, step: int | None = None):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = int(signum)
        self.step = step


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class StopRequests:
    """SIGINT/SIGTERM handling for a training run, as a context manager (see the module
    docstring). Outside the main thread, where Python cannot handle signals, it does nothing.

    Args:
        pending: where evaluations abandoned on a signal are recorded (None: nowhere).
        sections_abort: whether ``abortable()`` sections end at a signal. Off for a worker of a
            multi-worker run: its evaluations and set-up work in step with the other workers,
            so it stops only at the step boundary they agree on.
    """

    def __init__(self, pending: "PendingEvaluations | None" = None, sections_abort: bool = True):
        self.pending = pending
        self.sections_abort = sections_abort
        self.signum: int | None = None
        self._abortable_depth = 0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "StopRequests":
        if _in_main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        self.signum = signum
        for other in SIGNALS:  # a second signal ends the process at once
            signal.signal(other, signal.SIG_DFL)
        print(f"{signal.Signals(signum).name} received: stopping at the end of the current step "
              "and saving a checkpoint (send it again to stop at once, without saving)",
              file=sys.stderr, flush=True)
        if self._abortable_depth:
            raise Interrupted(signum)

    @property
    def requested(self) -> bool:
        """Whether a signal asked the run to stop."""
        return self.signum is not None

    def check(self) -> None:
        """Raises ``Interrupted`` if a signal asked the run to stop."""
        if self.signum is not None:
            raise Interrupted(self.signum)

    @contextlib.contextmanager
    def abortable(self) -> Iterator[None]:
        """A section a signal ends at once (with ``Interrupted``); it ends at once too if a
        signal came before it. Without ``sections_abort``, an ordinary section."""
        if not self.sections_abort:
            yield
            return
        self.check()
        self._abortable_depth += 1
        try:
            yield
        finally:
            self._abortable_depth -= 1


@contextlib.contextmanager
def raise_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``Interrupted`` wherever the program is (main thread only)."""
    if not _in_main_thread():
        yield
        return

    def handle(signum, frame):
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, handle) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class PendingEvaluations:
    """Evaluations abandoned at a step, to be done again when the run resumes at that step.

    The file holds ``{"step": N, "names": [...]}``; it is written atomically, and ignored (then
    removed by ``settle``) once the run has a checkpoint after step N.

    Args:
        path: the JSON file (beside the run's checkpoints).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def _read(self) -> tuple[int, set[str]]:
        try:
            content = json.loads(self.path.read_text(encoding="utf-8"))
            return int(content["step"]), set(content["names"])
        except (OSError, ValueError, KeyError, TypeError):  # none, or unreadable: nothing due
            return -1, set()

    def add(self, name: str, step: int) -> None:
        """Records that the evaluation ``name`` of ``step`` was abandoned."""
        recorded_step, names = self._read()
        names = names | {name} if recorded_step == step else {name}
        text = json.dumps({"step": step, "names": sorted(names)})
        write_bytes_atomically(self.path, text.encode("utf-8"))

    def due(self, name: str, step: int) -> bool:
        """Whether the evaluation ``name`` of ``step`` was abandoned and is still to be done."""
        recorded_step, names = self._read()
        return recorded_step == step and name in names

    def settle(self, saved_step: int) -> None:
        """Forgets abandoned evaluations older than the checkpoint of ``saved_step``."""
        recorded_step, _ = self._read()
        if self.path.exists() and recorded_step < saved_step:
            with contextlib.suppress(OSError):
                self.path.unlink()
