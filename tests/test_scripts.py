"""The FID command-line scripts, run as a user runs them, on generated folders and the stand-in graph."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import random_images, write_png_folder

from ttur_tf.fid import fid_between, load_statistics

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def run_script(name, *args, env=None):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )


def last_line(text):
    return text.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def two_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    real = write_png_folder(root / "real", random_images(24, 16, 16, seed=1))
    fake = write_png_folder(root / "fake", random_images(24, 16, 16, seed=2) // 2)
    return real, fake


@pytest.mark.filterwarnings("ignore:only|sigma")
def test_fid_script_prints_the_library_value_last(two_folders, standin_graph_path):
    real, fake = two_folders
    result = run_script("fid.py", real, fake, f"--inception_path={standin_graph_path}", "--batch_size=10")
    assert result.returncode == 0, result.stderr
    assert last_line(result.stdout).startswith("FID: ")
    expected, _, _ = fid_between(real, fake, inception_path=standin_graph_path)
    assert float(last_line(result.stdout).split()[1]) == pytest.approx(expected, rel=1e-6)
    assert f"{real}: 24 images" in result.stdout


def test_precalculated_statistics_give_the_same_fid(two_folders, standin_graph_path, tmp_path):
    real, fake = two_folders
    out = tmp_path / "real_stats.npz"
    written = run_script("precalc_stats.py", f"--data={real}", f"--out={out}", f"--inception_path={standin_graph_path}")
    assert written.returncode == 0, written.stderr
    statistics = load_statistics(out)
    assert statistics.mu.shape == (2048,) and statistics.sigma.shape == (2048, 2048)
    assert statistics.num_images == 24 and statistics.image_size == (16, 16)
    from_stats = run_script("fid.py", out, fake, f"--inception_path={standin_graph_path}")
    from_folders = run_script("fid.py", real, fake, f"--inception_path={standin_graph_path}")
    values = [float(last_line(r.stdout).split()[1]) for r in (from_stats, from_folders)]
    assert values[0] == pytest.approx(values[1], rel=1e-9)


def test_two_statistics_files_need_no_graph(tmp_path):
    for name, shift in (("a", 0.0), ("b", 1.0)):
        np.savez(tmp_path / f"{name}.npz", mu=np.full(4, shift), sigma=np.eye(4))
    result = run_script("fid.py", tmp_path / "a.npz", tmp_path / "b.npz", env={"TTUR_INCEPTION_DIR": str(tmp_path / "none")})
    assert result.returncode == 0, result.stderr
    assert float(last_line(result.stdout).split()[1]) == pytest.approx(4.0)


@pytest.mark.parametrize(
    "args, message",
    [
        (["{missing}", "{real}"], "does not exist"),
        (["{empty}", "{real}"], "no image files"),
        (["{real}"], "expected exactly two paths"),
        (["{real}", "{real}", "--batch_size=0"], "batch_size"),
    ],
)
def test_fid_script_bad_input_exits_non_zero_with_a_message(two_folders, standin_graph_path, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    paths = {"missing": tmp_path / "missing", "empty": tmp_path / "empty", "real": two_folders[0]}
    result = run_script("fid.py", *[a.format(**paths) for a in args], f"--inception_path={standin_graph_path}")
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_offline_without_a_graph_explains_where_to_put_it(two_folders, tmp_path):
    real, fake = two_folders
    offline = {"TTUR_INCEPTION_URL": (tmp_path / "unreachable.tgz").as_uri()}
    result = run_script("fid.py", real, fake, f"--inception_path={tmp_path / 'graph_dir'}", env=offline)
    assert result.returncode == 1
    assert "classify_image_graph_def.pb" in result.stderr and "--inception_path" in result.stderr
    assert "Traceback" not in result.stderr


def test_precalc_stats_rejects_an_output_that_is_not_npz(tmp_path, standin_graph_path):
    result = run_script("precalc_stats.py", f"--data={tmp_path}", f"--out={tmp_path / 'stats.txt'}")
    assert result.returncode != 0 and "--out must end in .npz" in result.stderr


def test_offline_demo_runs_on_the_standin_graph(tmp_path):
    result = run_script("fid_demo.py", f"--workdir={tmp_path}", "--num_images=16", "--image_size=16")
    assert result.returncode == 0, result.stderr
    assert "STAND-IN" in result.stderr
    fid = float(last_line(result.stdout).split()[1])
    assert np.isfinite(fid) and fid > 0


@pytest.mark.filterwarnings("ignore")
def test_fid_disturbance_study_runs_end_to_end_on_a_generated_folder(tmp_path, standin_graph_path):
    from test_disturbances import smooth_images

    real = write_png_folder(tmp_path / "real", smooth_images(12, 32, seed=1))
    other = write_png_folder(tmp_path / "other", random_images(12, 32, 32, seed=2))
    result = run_script("fid_disturbance.py", f"--data={real}", f"--other={other}",
                        "--num_images=12", "--batch_size=6", f"--inception_path={standin_graph_path}",
                        "--types=swirl,contamination", f"--out_dir={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr
    rows = [line.split(",") for line in (tmp_path / "out" / "fid_disturbance.csv").read_text().splitlines()]
    assert rows[0] == ["disturbance", "level", "fid"] and len(rows) == 1 + 2 * 4
    fids = {(name, float(level)): float(fid) for name, level, fid in rows[1:]}
    for name in ("swirl", "contamination"):
        assert abs(fids[(name, 0.0)]) < 1e-6, name  # level 0: the real images themselves
        assert fids[(name, max(level for n, level in fids if n == name))] > 1e-3, name
    assert (tmp_path / "out" / "fid_disturbance.png").read_bytes()[:4] == b"\x89PNG"


def test_fid_disturbance_without_other_images_for_contamination_says_what_to_do(tmp_path):
    real = write_png_folder(tmp_path / "real", random_images(4, 16, 16))
    result = run_script("fid_disturbance.py", f"--data={real}", f"--out_dir={tmp_path / 'out'}")
    assert result.returncode == 1
    assert "error: contamination needs images of another data set: pass --other" in result.stderr
