"""One process per output: a second process on a locked folder is refused with one line naming
the holder; a lock left by a process that is gone is taken over. Two real processes each (two
training processes on one logdir: test_interrupts.py)."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, run_script_in_process
from ttur_tf.files import HOST
from ttur_tf.run_lock import OutputInUseError, RunLock

# Holds the lock of argv[1] until its stdin closes; says "locked" once it holds it.
_HOLDER = """
import sys
from ttur_tf.run_lock import RunLock
with RunLock(sys.argv[1], "the folder", "use another one"):
    print("locked", flush=True)
    sys.stdin.read()
"""


def hold_lock(path):
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_process_is_refused_with_the_holder_named(tmp_path):
    lock = tmp_path / ".lock"
    holder = hold_lock(lock)
    try:
        with pytest.raises(OutputInUseError, match=rf"in use by process {holder.pid} on host "
                                                   rf"{HOST}, started .*delete {lock}"):
            with RunLock(lock, "the folder", "use another one"):
                pytest.fail("two processes held one lock")
    finally:
        holder.communicate("")
    with RunLock(lock, "the folder", "use another one"):  # released when its holder ended
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path, caplog):
    lock = tmp_path / ".lock"
    holder = hold_lock(lock)
    holder.kill()
    holder.wait()
    assert json.loads(lock.read_text())["pid"] == holder.pid  # left behind
    with RunLock(lock, "the folder", "use another one"):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert "which no longer runs: lock taken over" in caplog.text


def test_a_lock_whose_pid_now_belongs_to_another_process_is_taken_over(tmp_path):
    lock = tmp_path / ".lock"
    record = dict(host=HOST, pid=os.getpid(), start_ticks=-1, started="then", command="old")
    lock.write_text(json.dumps(record))
    with RunLock(lock, "the folder", "use another one"):
        assert json.loads(lock.read_text())["command"] != "old"


def test_a_lock_held_on_another_host_is_never_taken_over(tmp_path):
    lock = tmp_path / ".lock"
    record = dict(host="elsewhere", pid=1, start_ticks=1, started="then", command="train")
    lock.write_text(json.dumps(record))
    with pytest.raises(OutputInUseError, match="process 1 on host elsewhere"):
        with RunLock(lock, "the folder", "use another one"):
            pass
    assert json.loads(lock.read_text()) == record


def test_a_second_statistics_run_on_one_output_is_refused(tmp_path):
    out = tmp_path / "stats.npz"
    holder = hold_lock(tmp_path / ".stats.npz.lock")
    try:
        status, _, stderr = run_script_in_process("precalc_stats.py", f"--data={tmp_path}",
                                                  f"--out={out}")
    finally:
        holder.communicate("")
    assert status == 1
    assert stderr.strip().splitlines()[-1].startswith(
        f"error: the output {out} is in use by process {holder.pid} on host {HOST}")
    assert not out.exists()
