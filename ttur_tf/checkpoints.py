"""A run's checkpoints: found from their files, restored from the newest that reads, never lost.

``tf.train.CheckpointManager`` trusts the ``checkpoint`` state file: if it is missing or garbage a
run would start again at step 0 and overwrite the checkpoints beside it, and a damaged newest
checkpoint ends a resume in a traceback. ``RunCheckpoints`` instead

* finds checkpoints from their own files (``ckpt-N.index`` / ``ckpt-N.data-…``) and rebuilds the
  state file from them when it disagrees (logged);
* restores the newest checkpoint that restores: a damaged one (truncated data, missing index; its
  tensors cannot be read) is reported, moved to ``damaged/`` beside the others (nothing is
  deleted) and the next older one is tried;
* tells a checkpoint written with other settings (it reads, but does not fit these networks) from
  a damaged one, and refuses it with a message instead of moving it;
* turns a failed save (full disk, read-only) into an ``OutputError`` that says the previous
  checkpoint is intact.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import tensorflow as tf
from absl import logging

from ttur_tf.errors import CheckpointError, OutputError, first_line
from ttur_tf.files import write_bytes_atomically

__all__ = ["RunCheckpoints", "checkpoint_files"]

_PREFIX = "ckpt"
_FILE = re.compile(rf"^{_PREFIX}-(?P<step>\d+)\.(index|data-\d+-of-\d+)$")
_TF_TEMPORARY = re.compile(rf"^{_PREFIX}-\d+_temp")
_DAMAGED_FOLDER = "damaged"
_STATE_FILE = "checkpoint"


def checkpoint_files(directory: str | os.PathLike) -> dict[int, list[Path]]:
    """Step → the files of that checkpoint in ``directory`` (empty if there is none)."""
    directory = Path(directory)
    found: dict[int, list[Path]] = {}
    if directory.is_dir():
        for entry in directory.iterdir():
            match = _FILE.match(entry.name)
            if match and entry.is_file():
                found.setdefault(int(match["step"]), []).append(entry)
    return found


def _unreadable(prefix: str) -> str | None:
    """Why the checkpoint's tensors cannot be read, or None if every tensor reads."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as error:  # truncated or missing files raise several types
        return f"{type(error).__name__}: {first_line(error)}"
    return None


class RunCheckpoints:
    """The checkpoints of one run in ``directory``.

    Args:
        checkpoint: the ``tf.train.Checkpoint`` of everything a run resumes from.
        directory: the run's checkpoint folder.
        max_to_keep: how many checkpoints are kept (older ones are deleted as new ones come).
        scratch: for a non-chief worker of a multi-worker run: it restores from ``directory``
            without changing anything there, and saves (a save needs every worker) into
            ``scratch``, which is removed after each save.
    """

    def __init__(self, checkpoint: tf.train.Checkpoint, directory: str | os.PathLike,
                 max_to_keep: int, scratch: str | os.PathLike | None = None):
        self.checkpoint = checkpoint
        self.directory = Path(directory)
        self.max_to_keep = max_to_keep
        self.scratch = None if scratch is None else Path(scratch)
        self._manager: tf.train.CheckpointManager | None = None

    def exist(self) -> bool:
        """Whether any checkpoint file is in the folder (whatever the state file says)."""
        return bool(checkpoint_files(self.directory))

    def _prefix(self, step: int) -> str:
        return str(self.directory / f"{_PREFIX}-{step}")

    def _move_aside(self, step: int, files: list[Path]) -> Path:
        folder = self.directory / _DAMAGED_FOLDER
        folder.mkdir(exist_ok=True)
        for path in files:
            target = folder / path.name
            suffix = 1
            while target.exists():
                target, suffix = folder / f"{path.name}.{suffix}", suffix + 1
            os.replace(path, target)
        return folder

    def _remove_tensorflow_temporaries(self, why: str) -> None:
        if not self.directory.is_dir():
            return
        for entry in self.directory.iterdir():
            if _TF_TEMPORARY.match(entry.name):
                logging.warning("removing %s, %s", entry, why)
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)

    def _write_state(self, steps: list[int]) -> None:
        """Makes the ``checkpoint`` state file list exactly ``steps`` (ascending), if it does not.

        The file is the text proto ``tf.train.CheckpointManager`` reads, with paths relative to
        the folder (as the manager writes them), so a run folder can be moved.
        """
        names = [f"{_PREFIX}-{step}" for step in steps]
        if not names:
            return
        try:
            state = tf.train.get_checkpoint_state(str(self.directory))
        except Exception:  # a garbage state file: rebuilt below
            state = None
        if state is not None:
            listed = [Path(path).name for path in state.all_model_checkpoint_paths]
            if listed == names and Path(state.model_checkpoint_path).name == names[-1]:
                return
        logging.warning("the checkpoint list in %s was missing, damaged or out of date; rebuilt "
                        "from the files: %s", self.directory, ", ".join(names))
        lines = [f'model_checkpoint_path: "{names[-1]}"']
        lines += [f'all_model_checkpoint_paths: "{name}"' for name in names]
        write_bytes_atomically(self.directory / _STATE_FILE, ("\n".join(lines) + "\n").encode())

    def restore_latest(self) -> int | None:
        """Restores the newest checkpoint that restores; returns its step (None if none exist).

        Raises:
            CheckpointError: checkpoints exist but none restores (every one damaged, or written
                with settings that build other networks); nothing is moved in that case.
        """
        if self.scratch is None:
            self._remove_tensorflow_temporaries("an unfinished checkpoint of a stopped run")
        found = checkpoint_files(self.directory)
        damaged: dict[int, str] = {}  # step → why it cannot be read
        restored = None
        for step in sorted(found, reverse=True):
            try:
                self.checkpoint.restore(self._prefix(step)).assert_existing_objects_matched()
            except Exception as error:  # classified below by reading the files themselves
                reason = _unreadable(self._prefix(step))
                if reason is None:
                    raise CheckpointError(
                        f"the checkpoint {self._prefix(step)} does not fit the networks these "
                        f"settings build ({first_line(error)}): it was written with other "
                        "settings (see config.json beside it). Rerun with those, or use a new "
                        "--logdir"
                    ) from error
                damaged[step] = reason
                continue
            restored = step
            break
        if found and restored is None:
            reasons = "; ".join(f"{_PREFIX}-{step}: {reason}" for step, reason in damaged.items())
            raise CheckpointError(
                f"no checkpoint in {self.directory} can be read ({reasons}). Nothing was changed: "
                "move the folder away to train from step 0, or use a new --logdir"
            )
        if self.scratch is not None:  # the chief repairs the folder
            return restored
        for step, reason in damaged.items():
            folder = self._move_aside(step, found[step])
            logging.warning("checkpoint %s is damaged (%s); moved to %s, resuming from the "
                            "previous one", self._prefix(step), reason, folder)
        self._write_state(sorted(step for step in found if step not in damaged))
        return restored

    @property
    def manager(self) -> tf.train.CheckpointManager:
        """The ``tf.train.CheckpointManager`` (made after ``restore_latest`` repaired the state)."""
        if self._manager is None:
            self._manager = tf.train.CheckpointManager(
                self.checkpoint, str(self.scratch or self.directory), self.max_to_keep,
                checkpoint_name=_PREFIX)
        return self._manager

    def save(self, step: int) -> str:
        """Saves the checkpoint of ``step``; returns its prefix.

        Raises:
            OutputError: it cannot be written (full disk, read-only…); the previous checkpoint
                is intact.
        """
        try:
            path = self.manager.save(checkpoint_number=step)
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)
            return path
        except (tf.errors.OpError, OSError) as error:
            self._remove_tensorflow_temporaries("the part written of the failed checkpoint")
            previous = self.manager.latest_checkpoint
            resume = (f"it resumes from the previous checkpoint, {previous}, which is intact"
                      if previous else "no checkpoint had been written yet, so it starts afresh")
            raise OutputError(
                f"cannot write the checkpoint of step {step} in {self.directory} "
                f"({first_line(error)}); free some space or fix the folder's permissions, then "
                f"rerun the same command: {resume}"
            ) from error
