"""The FID command-line scripts on generated folders and the stand-in graph.

``fid.py`` runs once as a real process (the documented command line); the other cases call each
script's ``define_flags`` and ``main`` in this process.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import random_images, run_script_in_process, write_png_folder

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


@pytest.mark.filterwarnings("ignore:only|the covariances")
# Heavy: test_image_metrics.py checks the same last line (with every metric) in CI.
@pytest.mark.heavy
def test_fid_script_prints_the_library_value_last(two_folders, standin_graph_path):
    real, fake = two_folders
    code, out, err = run_script_in_process("fid.py", real, fake,
                                           f"--inception_path={standin_graph_path}",
                                           "--batch_size=10")
    assert code == 0, err
    assert last_line(out).startswith("FID: ")
    expected, _, _ = fid_between(real, fake, inception_path=standin_graph_path)
    assert float(last_line(out).split()[1]) == pytest.approx(expected, rel=1e-6)
    assert f"{real}: 24 images" in out


@pytest.mark.slow
def test_fid_script_runs_as_a_program_on_two_statistics_files_without_a_graph(tmp_path):
    for name, shift in (("a", 0.0), ("b", 1.0)):
        np.savez(tmp_path / f"{name}.npz", mu=np.full(4, shift), sigma=np.eye(4))
    result = run_script("fid.py", tmp_path / "a.npz", tmp_path / "b.npz",
                        env={"TTUR_INCEPTION_DIR": str(tmp_path / "none")})
    assert result.returncode == 0, result.stderr
    assert float(last_line(result.stdout).split()[1]) == pytest.approx(4.0)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:only|the covariances")
def test_precalculated_statistics_give_the_same_fid(two_folders, standin_graph_path, tmp_path):
    real, fake = two_folders
    out = tmp_path / "real_stats.npz"
    code, _, err = run_script_in_process("precalc_stats.py", f"--data={real}", f"--out={out}",
                                         f"--inception_path={standin_graph_path}")
    assert code == 0, err
    statistics = load_statistics(out)
    assert statistics.mu.shape == (2048,) and statistics.sigma.shape == (2048, 2048)
    assert statistics.num_images == 24 and statistics.image_size == (16, 16)
    code, out_text, err = run_script_in_process("fid.py", out, fake,
                                                f"--inception_path={standin_graph_path}")
    assert code == 0, err
    expected, _, _ = fid_between(real, fake, inception_path=standin_graph_path)
    assert float(last_line(out_text).split()[1]) == pytest.approx(expected, rel=1e-9)


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
    code, _, err = run_script_in_process("fid.py", *[a.format(**paths) for a in args],
                                         f"--inception_path={standin_graph_path}")
    assert code != 0
    assert message in err
    assert "Traceback" not in err


def test_offline_without_a_graph_explains_where_to_put_it(two_folders, tmp_path, monkeypatch):
    real, fake = two_folders
    monkeypatch.setenv("TTUR_INCEPTION_URL", (tmp_path / "unreachable.tgz").as_uri())
    code, _, err = run_script_in_process("fid.py", real, fake,
                                         f"--inception_path={tmp_path / 'graph_dir'}")
    assert code == 1
    assert "classify_image_graph_def.pb" in err and "--inception_path" in err


def test_precalc_stats_rejects_an_output_that_is_not_npz(tmp_path):
    code, _, err = run_script_in_process("precalc_stats.py", f"--data={tmp_path}",
                                         f"--out={tmp_path / 'stats.txt'}")
    assert code == 1 and "--out must end in .npz" in err


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:only|the covariances")
def test_offline_demo_runs_on_the_standin_graph(tmp_path, caplog):
    code, out, err = run_script_in_process("fid_demo.py", f"--workdir={tmp_path}",
                                           "--num_images=16", "--image_size=16")
    assert code == 0, err
    assert "STAND-IN" in caplog.text
    fid = float(last_line(out).split()[1])
    assert np.isfinite(fid) and fid > 0


@pytest.mark.heavy
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
def test_fid_disturbance_study_runs_end_to_end_on_a_generated_folder(tmp_path, standin_graph_path):
    from test_disturbances import smooth_images

    real = write_png_folder(tmp_path / "real", smooth_images(12, 32, seed=1))
    other = write_png_folder(tmp_path / "other", random_images(12, 32, 32, seed=2))
    code, _, err = run_script_in_process(
        "fid_disturbance.py", f"--data={real}", f"--other={other}", "--num_images=12",
        "--batch_size=6", f"--inception_path={standin_graph_path}", "--types=contamination",
        f"--out_dir={tmp_path / 'out'}")
    assert code == 0, err
    rows = [line.split(",") for line in (tmp_path / "out" / "fid_disturbance.csv").read_text().splitlines()]
    assert rows[0] == ["disturbance", "level", "fid"] and len(rows) == 1 + 4
    fids = {float(level): float(fid) for _, level, fid in rows[1:]}
    assert abs(fids[0.0]) < 1e-6  # level 0: the real images themselves
    assert fids[max(fids)] > 1e-3
    assert (tmp_path / "out" / "fid_disturbance.png").read_bytes()[:4] == b"\x89PNG"


def test_fid_disturbance_without_other_images_for_contamination_says_what_to_do(tmp_path):
    real = write_png_folder(tmp_path / "real", random_images(4, 16, 16))
    code, _, err = run_script_in_process("fid_disturbance.py", f"--data={real}",
                                         f"--out_dir={tmp_path / 'out'}")
    assert code == 1
    assert "error: contamination needs images of another data set: pass --other" in err
