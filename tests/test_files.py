"""Writing outputs: atomic, umask permissions, no temporary left behind, one-line errors.

Read-only and full disks are real file systems: a small tmpfs mounted in a private mount
namespace (``unshare``), which also works as root (for whom permissions do not stop a write).
"""

import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, run_script_in_process, script_module
from ttur_tf.data.text import CharMap
from ttur_tf.errors import OutputError
from ttur_tf.fid import Statistics
from ttur_tf.files import (
    atomic_output,
    check_writable_folder,
    remove_stale_temporaries,
    write_bytes_atomically,
)


@pytest.fixture
def umask_002():
    previous = os.umask(0o002)
    yield
    os.umask(previous)


def mode(path):
    return path.stat().st_mode & 0o777


def test_outputs_get_the_permissions_the_umask_gives(tmp_path, umask_002):
    write_bytes_atomically(tmp_path / "config.json", b"{}")
    Statistics(np.zeros(2), np.eye(2), 3).save(tmp_path / "stats.npz")
    CharMap(("a", "b")).save(tmp_path / "charmap.json")
    for name in ("config.json", "stats.npz", "charmap.json"):
        assert mode(tmp_path / name) == 0o664, name


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = write_bytes_atomically(tmp_path / "stats.npz", b"old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as out:
            out.write(b"half of the new")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["stats.npz"]


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    killed_mid_write = (
        "import os, signal, sys\n"
        "from ttur_tf.files import atomic_output\n"
        "with atomic_output(sys.argv[1]) as out:\n"
        "    out.write(b'partial')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    for name in ("samples_1.png", "samples_2.png"):
        result = subprocess.run([sys.executable, "-c", killed_mid_write, str(tmp_path / name)],
                                cwd=ROOT)
        assert result.returncode == -signal.SIGKILL
    left = sorted(path.name for path in tmp_path.iterdir())
    assert len(left) == 2 and all(name.startswith(".samples_") for name in left)
    write_bytes_atomically(tmp_path / "samples_1.png", b"png")  # the same target: its leftover
    assert len(list(tmp_path.iterdir())) == 2
    assert remove_stale_temporaries(tmp_path)  # a run's start sweeps the rest
    assert [path.name for path in tmp_path.iterdir()] == ["samples_1.png"]


def test_a_temporary_of_a_live_process_is_not_touched(tmp_path):
    with atomic_output(tmp_path / "a.txt") as out:
        out.write(b"x")
        assert remove_stale_temporaries(tmp_path) == []
        assert len(list(tmp_path.iterdir())) == 1
    assert (tmp_path / "a.txt").read_bytes() == b"x"


def test_a_file_in_the_way_is_named(tmp_path):
    (tmp_path / "logs").write_text("not a folder")
    with pytest.raises(OutputError, match=f"cannot write {tmp_path}/logs/run/config.json: "
                                          f"{tmp_path}/logs is a file, not a folder"):
        write_bytes_atomically(tmp_path / "logs" / "run" / "config.json", b"{}")
    with pytest.raises(OutputError, match=f"{tmp_path}/logs is a file, not a folder"):
        check_writable_folder(tmp_path / "logs")
    (tmp_path / "out.npz").mkdir()
    with pytest.raises(OutputError, match="out.npz: it is a folder"):
        Statistics(np.zeros(2), np.eye(2), 3).save(tmp_path / "out.npz")


def test_precalc_stats_checks_its_output_before_reading_any_image(tmp_path, monkeypatch):
    (tmp_path / "stats").write_text("a file where the folder should be")

    def must_not_run(*args, **kwargs):
        raise AssertionError("features were computed before the output was checked")

    monkeypatch.setattr(script_module("precalc_stats.py"), "InceptionFeatures", must_not_run)
    code, _, err = run_script_in_process("precalc_stats.py", f"--data={tmp_path}",
                                         f"--out={tmp_path / 'stats' / 'cifar.npz'}")
    assert code == 1
    assert err == (f"error: cannot write {tmp_path}/stats: {tmp_path}/stats is a file, not a "
                   "folder; move it away or choose another path\n")


# --- real read-only and full disks -------------------------------------------------------------

# Mounts a tmpfs of size $1 at $2 (read-only if $3 is "ro"), runs the command after $4, then
# prints its exit status and the files left in the folder $4 (seen only inside the namespace).
_MOUNT = ('mount -t tmpfs -o size="$1" tmpfs "$2" || exit 99; '
          'if [ "$3" = ro ]; then mount -o remount,ro "$2"; fi; '
          'folder="$4"; shift 4; "$@"; echo "exit $?"; ls -A "$folder" 2>/dev/null; exit 0')


def on_tiny_disk(mount_point, command, list_folder, size="256k", read_only=False):
    """Runs ``command`` with a fresh tmpfs of ``size`` mounted at ``mount_point`` (only it sees
    the mount). Returns (its exit status, its stderr, the names left in ``list_folder``)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to mount a small file system")
    mount_point.mkdir(exist_ok=True)
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", _MOUNT, "sh", size, str(mount_point),
         "ro" if read_only else "rw", str(list_folder), *map(str, command)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=environment)
    if result.returncode == 99 or "exit " not in result.stdout:
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {result.stderr[-300:]}")
    status_line = next(line for line in result.stdout.splitlines() if line.startswith("exit "))
    left = result.stdout.split(status_line + "\n", 1)[1].split()
    return int(status_line.split()[1]), result.stderr, left


def quickstart(logdir, *args):
    return [sys.executable, ROOT / "scripts" / "train_wgan_gp.py",
            f"--flagfile={ROOT / 'configs' / 'quickstart.flags'}", f"--logdir={logdir}",
            "--steps=2", "--dim=16", "--jsd_every=0", *args]


@pytest.mark.slow
def test_a_read_only_logdir_is_one_line_before_any_data_is_read(tmp_path):
    disk = tmp_path / "disk"
    status, stderr, left = on_tiny_disk(disk, quickstart(disk / "run"), disk, read_only=True)
    assert status == 1, stderr
    assert f"error: cannot write {disk}/run: Read-only file system; choose a location" in stderr
    assert "Traceback" not in stderr and "lines of 32 characters" not in stderr
    assert left == []


@pytest.mark.slow
def test_a_full_disk_during_training_is_one_line_and_leaves_no_partial_checkpoint(tmp_path):
    disk = tmp_path / "disk"
    status, stderr, left = on_tiny_disk(disk, quickstart(disk / "run", "--checkpoint_every=1"),
                                        disk / "run" / "checkpoints", size="400k")
    assert status == 1, stderr
    error = stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: cannot write the checkpoint of step 1 in {disk}/run/checkpoints (")
    assert "No space left on device" in error and "no checkpoint had been written yet" in error
    assert "Traceback" not in stderr
    assert left == []  # TensorFlow's unfinished ckpt-1_temp is gone


@pytest.mark.slow
def test_a_full_disk_under_the_tensorboard_events_is_one_line(tmp_path):
    disk = tmp_path / "disk"
    status, stderr, _ = on_tiny_disk(disk, quickstart(disk / "run", "--steps=600", "--log_every=1",
                                                      "--checkpoint_every=100000"), disk, size="24k")
    assert status == 1, stderr
    assert stderr.strip().splitlines()[-1].startswith(
        f"error: cannot write the TensorBoard events ({disk}/run/events.out.tfevents.")
    assert "No space left on device" in stderr and "Traceback" not in stderr


@pytest.mark.slow
def test_statistics_on_a_full_disk_are_one_line_and_leave_no_temporary(tmp_path):
    disk = tmp_path / "disk"
    save = ("import sys, numpy as np\n"
            "from ttur_tf import cli\n"
            "from ttur_tf.fid import Statistics\n"
            "with cli.user_errors_exit():\n"
            "    Statistics(np.zeros(2048), np.eye(2048), 10).save(sys.argv[1])\n")
    status, stderr, left = on_tiny_disk(
        disk, [sys.executable, "-c", save, disk / "stats.npz"], disk)
    assert status == 1
    assert f"error: cannot write {disk}/stats.npz: No space left on device; free some space" \
        in stderr
    assert left == []
