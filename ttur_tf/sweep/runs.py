"""The runs of a sweep: every setting (a flagfile) with every seed, each a training process.

A run's folder is ``<out_dir>/<setting>/seed_<k>``; it is trained with

    python <trainer> --flagfile=<setting's flagfile> <extra arguments> --seed=<k> --logdir=<folder>

(later flags win, so the seed and the folder are the sweep's). What the process prints goes to
``train.log`` in the folder. A run that ends well gets ``sweep_run.json`` (its command, the
flagfile's text and its time); a later sweep skips it while both are unchanged. Any other run —
never started, interrupted, failed, or changed — is (re)started with the same command, and the
trainer resumes it from its last checkpoint.

Each run's process has its own session, so a Ctrl-C in the terminal reaches the sweep alone; the
sweep passes a SIGINT or SIGTERM on to the runs under way once (each stops at a step boundary
with a checkpoint) and waits for them.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from ttur_tf.files import write_bytes_atomically
from ttur_tf.interrupts import Interrupted

__all__ = ["INTERRUPTED_OUTCOME", "Run", "RunOutcome", "default_trainer", "parse_seeds",
           "plan_runs", "run_all", "setting_names"]

_MARKER = "sweep_run.json"
# What a SIGINT or SIGTERM leaves, for the one line a script ends with.
INTERRUPTED_OUTCOME = ("the runs under way stopped at a step boundary with a checkpoint; rerun "
                       "the same command to continue")
_LOG = "train.log"


def parse_seeds(text: str) -> list[int]:
    """Seeds from "0-9", "3", "0,2,5" or "0-2,7" (ranges inclusive), in order, without repeats.

    Raises:
        ValueError: anything else, with the accepted forms.
    """
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if match is None or (match[2] is not None and int(match[2]) < int(match[1])):
            raise ValueError(f"--seeds={text!r}: use non-negative integers and increasing ranges, "
                             "e.g. 0-9, 3, 0,2,5 or 0-2,7")
        low = int(match[1])
        high = int(match[2]) if match[2] is not None else low
        seeds.extend(seed for seed in range(low, high + 1) if seed not in seeds)
    return seeds


def setting_names(flagfiles: list[str]) -> dict[str, Path]:
    """Each flagfile under its name without ``.flags`` (the sweep's folder and legend name).

    Raises:
        FileNotFoundError: a flagfile does not exist.
        ValueError: no flagfile, or two with the same name.
    """
    if not flagfiles:
        raise ValueError("give the settings to compare: --flagfile=A.flags --flagfile=B.flags")
    names: dict[str, Path] = {}
    for flagfile in flagfiles:
        path = Path(flagfile)
        if not path.is_file():
            raise FileNotFoundError(f"flagfile {path} does not exist")
        name = path.name.removesuffix(".flags")
        if name in names:
            raise ValueError(f"two settings are named {name!r} ({names[name]} and {path}): "
                             "rename one of the flagfiles")
        names[name] = path
    return names


def default_trainer(flagfile: Path, scripts: Path) -> Path:
    """``scripts``/train_dcgan.py for a flagfile that sets --model=dcgan (its defaults are the
    DCGAN's), ``scripts``/train_wgan_gp.py otherwise."""
    lines = [line.strip() for line in flagfile.read_text().splitlines()]
    dcgan = any(line.replace(" ", "") == "--model=dcgan" for line in lines)
    return scripts / ("train_dcgan.py" if dcgan else "train_wgan_gp.py")


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run of a sweep."""

    setting: str
    flagfile: Path
    seed: int
    logdir: Path
    command: tuple[str, ...]

    def is_finished(self) -> bool:
        """Whether it ended well with this command and this flagfile's text."""
        try:
            record = json.loads((self.logdir / _MARKER).read_text())
        except (OSError, ValueError):
            return False
        return (record.get("command") == list(self.command)
                and record.get("flagfile_text") == self.flagfile.read_text())

    @property
    def log_path(self) -> Path:
        return self.logdir / _LOG


def plan_runs(settings: dict[str, Path], seeds: list[int], out_dir: Path,
              trainers: dict[str, Path], extra_arguments: list[str]) -> list[Run]:
    """Every (setting, seed) as a ``Run``, settings in the given order, then seeds;
    ``trainers``: the training script of each setting."""
    runs = []
    for setting, flagfile in settings.items():
        trainer = trainers[setting]
        for seed in seeds:
            logdir = out_dir / setting / f"seed_{seed}"
            command = (sys.executable, str(trainer), f"--flagfile={flagfile}", *extra_arguments,
                       f"--seed={seed}", f"--logdir={logdir}")
            runs.append(Run(setting, flagfile, seed, logdir, command))
    return runs


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """How a run ended in this sweep: ``skipped`` (finished before), ``finished`` or ``failed``
    (with the last lines of its log)."""

    run: Run
    status: str
    seconds: float = 0.0
    log_tail: str = ""


def _threads_per_run(parallel: int) -> dict[str, str]:
    """TensorFlow's thread pools sized to share the cores among ``parallel`` processes (unless
    the environment already sizes them)."""
    environment = dict(os.environ)
    if parallel > 1:
        per_run = str(max(1, (os.cpu_count() or 1) // parallel))
        environment.setdefault("TF_NUM_INTRAOP_THREADS", per_run)
        environment.setdefault("TF_NUM_INTEROP_THREADS", per_run)
    return environment


def _execute(run: Run, environment: dict[str, str],
             running: set[subprocess.Popen]) -> RunOutcome:
    """Trains ``run`` in a process of its own session (kept in ``running`` while it runs)."""
    run.logdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(run.log_path, "ab") as log:
        log.write(f"$ {' '.join(run.command)}\n".encode())
        log.flush()
        process = subprocess.Popen(run.command, stdout=log, stderr=subprocess.STDOUT,
                                   env=environment, start_new_session=True)
        running.add(process)
        code = process.wait()
        running.discard(process)
    seconds = time.monotonic() - started
    if code != 0:
        lines = run.log_path.read_text(errors="replace").splitlines()
        return RunOutcome(run, "failed", seconds, "\n".join(lines[-5:]))
    record = dict(command=list(run.command), flagfile_text=run.flagfile.read_text(),
                  seconds=seconds, finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    write_bytes_atomically(run.logdir / _MARKER, json.dumps(record, indent=1).encode())
    return RunOutcome(run, "finished", seconds)


def run_all(runs: list[Run], parallel: int = 1, report=print) -> list[RunOutcome]:
    """Runs every unfinished run, ``parallel`` at a time; ``report`` gets a line per event.

    Returns:
        The outcome of each run, in the order of ``runs``.
    """
    if parallel < 1:
        raise ValueError(f"--parallel must be ≥ 1, got {parallel}")
    outcomes: dict[Run, RunOutcome] = {}
    pending = []
    for run in runs:
        if run.is_finished():
            outcomes[run] = RunOutcome(run, "skipped")
        else:
            pending.append(run)
    skipped = len(runs) - len(pending)
    report(f"{len(runs)} runs: {skipped} finished before (skipped), {len(pending)} to run, "
           f"{parallel} at a time")
    environment = _threads_per_run(parallel)
    running: set[subprocess.Popen] = set()
    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {pool.submit(_execute, run, environment, running): run for run in pending}
        try:
            for future in concurrent.futures.as_completed(futures):
                outcome = future.result()
                outcomes[outcome.run] = outcome
                run = outcome.run
                report(f"{run.setting} seed {run.seed}: {outcome.status} in "
                       f"{outcome.seconds:.0f} s"
                       + ("" if outcome.status == "finished" else f"; see {run.log_path}"))
        except Interrupted as interrupted:
            for future in futures:
                future.cancel()  # runs not started yet
            for process in list(running):
                process.send_signal(interrupted.signum)  # each saves and stops
            raise
    return [outcomes[run] for run in runs]
