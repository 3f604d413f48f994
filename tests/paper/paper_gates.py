"""Gates of the `paper` tests: the real Inception graph, the datasets, an accelerator, and consent.

The tests that use these fixtures and helpers are marked `paper` and skip with the reason when
what they need is missing:

* the real 2015 graph: ``$TTUR_PAPER_INCEPTION`` (file or folder), else ``$TTUR_INCEPTION_DIR``,
  ``inception/`` of the checkout or ``~/.cache/ttur_tf`` — the stand-in graph is refused;
* tfds datasets prepared where ``$TFDS_DATA_DIR`` points (never downloaded by a test);
* the original's published statistics in ``$TTUR_PAPER_STATS_DIR`` (``fid_stats_cifar10_train.npz``…)
  for the comparisons with them;
* for the Table 1 training results, the ``results.json`` of ``scripts/reproduce_table1.py``
  (GPU-days of training) in ``$TTUR_PAPER_RESULTS``: the tests read it, they do not train;
* for the models after the paper (SNGAN, BigGAN, SAGAN), their runs' folders in
  ``$TTUR_PAPER_LATER_RUNS``: ``<flagfile stem>`` or ``<flagfile stem>_<anything>`` (one per
  seed), as ``train_wgan_gp.py --flagfile=configs/<stem>.flags --logdir=...`` writes them.
"""

import os
from pathlib import Path

import pytest

# Read at import, before the suite's autouse fixture hides the user's environment from lookups.
_ENVIRONMENT = {name: os.environ.get(name, "") for name in (
    "TTUR_PAPER_INCEPTION", "TTUR_INCEPTION_DIR", "TTUR_PAPER_STATS_DIR", "TTUR_PAPER_RESULTS",
    "TTUR_PAPER_LATER_RUNS", "TFDS_DATA_DIR", "XDG_CACHE_HOME")}
_CHECKOUT = Path(__file__).resolve().parents[2]
# The real graph has about a thousand nodes (Inception-v3 with its batch norms); the stand-in has
# a few dozen.
_REAL_GRAPH_MIN_NODES = 500


def _real_graph_path() -> tuple[Path | None, str]:
    from ttur_tf.fid.fullsize import COSTS_ONLY_MARKER
    from ttur_tf.fid.inception import locate_graph, read_graph_def

    cache = Path(_ENVIRONMENT["XDG_CACHE_HOME"] or Path.home() / ".cache") / "ttur_tf"
    candidates = [_ENVIRONMENT["TTUR_PAPER_INCEPTION"], _ENVIRONMENT["TTUR_INCEPTION_DIR"],
                  str(_CHECKOUT / "inception"), str(cache)]
    for candidate in filter(None, candidates):
        try:
            path = locate_graph(candidate, download=False)
        except Exception:  # absent here; try the next place
            continue
        nodes = read_graph_def(path).node
        if any(node.name == COSTS_ONLY_MARKER for node in nodes):
            return None, f"{path} is the costs-only graph (random weights), not the real one"
        if len(nodes) >= _REAL_GRAPH_MIN_NODES:
            return path, ""
        return None, f"{path} is not the original 2015 Inception graph (a stand-in?)"
    return None, ("the real Inception graph (classify_image_graph_def.pb) is not installed: set "
                  "TTUR_PAPER_INCEPTION or see inception/README.md")


@pytest.fixture(scope="session")
def real_graph_path():
    """The original 2015 graph, or a skip saying where to put it."""
    path, reason = _real_graph_path()
    if path is None:
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def real_features(real_graph_path):
    from ttur_tf.fid import InceptionFeatures

    return InceptionFeatures(real_graph_path, download=False)


def require_tfds(name: str, split: str = "train") -> None:
    """Skips unless the tfds dataset is prepared locally (no download)."""
    import tensorflow_datasets as tfds

    try:
        tfds.builder(name, data_dir=_ENVIRONMENT["TFDS_DATA_DIR"] or None).as_dataset(split=split)
    except Exception as error:  # not prepared, unknown… (tfds raises many types)
        pytest.skip(f"the tfds dataset {name}/{split} is not prepared here ({type(error).__name__}): "
                    "prepare it where TFDS_DATA_DIR points")


def published_statistics(file_name: str) -> Path:
    """A statistics file of the original project in $TTUR_PAPER_STATS_DIR, or a skip."""
    folder = _ENVIRONMENT["TTUR_PAPER_STATS_DIR"]
    path = Path(folder) / file_name if folder else None
    if path is None or not path.is_file():
        pytest.skip(f"{file_name} (the original's published statistics, "
                    "http://bioinf.jku.at/research/ttur/ttur_stats/) is not in TTUR_PAPER_STATS_DIR")
    return path


def table1_runs(row: str, setting: str) -> list[dict]:
    """The finished runs of a Table 1 row and setting in ``$TTUR_PAPER_RESULTS`` (a
    ``results.json`` of scripts/reproduce_table1.py) trained in the paper's setting (no
    overrides), or a skip saying how to produce them."""
    from ttur_tf.sweep.table1_results import read_results

    path = Path(_ENVIRONMENT["TTUR_PAPER_RESULTS"]) if _ENVIRONMENT["TTUR_PAPER_RESULTS"] else None
    if path is None or not path.is_file():
        pytest.skip("Table 1 training takes GPU-days: run scripts/reproduce_table1.py and set "
                    "TTUR_PAPER_RESULTS to its results.json")
    runs = [run for run in read_results(path) if run["row"] == row and run["setting"] == setting
            and run["status"] == "finished" and not run["overrides"]]
    if not runs:
        pytest.skip(f"{path} has no finished run of {row} ({setting}) in the paper's setting: run "
                    f"scripts/reproduce_table1.py --rows={row} without size overrides")
    return runs


def later_runs(stem: str, flagfile: Path) -> list[dict]:
    """The finished runs of ``flagfile`` (a model after the paper) in ``$TTUR_PAPER_LATER_RUNS``
    (entries as ``results.json`` holds them, best "fid" and the highest "inception_score"), or a
    skip saying how to produce them."""
    from ttur_tf.sweep.event_scalars import read_scalars
    from ttur_tf.sweep.table1_results import run_entry

    folder = Path(_ENVIRONMENT["TTUR_PAPER_LATER_RUNS"]) if _ENVIRONMENT["TTUR_PAPER_LATER_RUNS"] \
        else None
    if folder is None or not folder.is_dir():
        pytest.skip(f"training {stem} takes GPU-days: run train_wgan_gp.py "
                    f"--flagfile=configs/{stem}.flags --logdir=DIR/{stem} and set "
                    "TTUR_PAPER_LATER_RUNS to DIR")
    runs = []
    for logdir in sorted(folder.glob(f"{stem}*")):
        if logdir.name != stem and not logdir.name.startswith(stem + "_"):
            continue
        entry = run_entry(stem, "published", 0, flagfile, logdir, ("fid",), [])
        if entry["status"] != "finished":
            continue
        scores = read_scalars(str(logdir)).get("inception_score")
        if scores is not None and scores.values.size:
            entry["best"]["inception_score"] = {"value": float(max(scores.values))}
        runs.append(entry)
    if not runs:
        pytest.skip(f"{folder} holds no finished run of configs/{stem}.flags (a folder {stem} or "
                    f"{stem}_<seed>)")
    return runs
