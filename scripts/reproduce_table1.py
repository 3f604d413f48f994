"""Reproduces the paper's Table 1: every row (or those named) in its TTUR and its original setting.

    python scripts/reproduce_table1.py [--rows=wgan_gp_cifar10,lang_1b] [--seeds=0-2]
        [--out_dir=table1] [--strategy=mirrored] [--stats_dir=ttur_stats]
        [--inception_path=classify_image_graph_def.pb] [--parallel=1]
        [--row_arg=lang_1b:--dataset=/data/1-billion-word-...] [--train_arg=...]
        [--paper_results=docs/paper_results.md]

A row is a pair of flagfiles in ``--configs`` (``<row>_ttur.flags``, ``<row>_orig.flags``).
Each setting is trained with each seed as ``scripts/sweep.py`` trains (``<out_dir>/<flagfile
name>/seed_<k>``, one process per run, ``--parallel`` at a time); a rerun of the same command
skips finished runs and resumes the others from their checkpoints, so an interrupted or killed
reproduction continues where it stopped. Ctrl-C (or SIGTERM) stops the runs under way at a step
boundary with a checkpoint.

Then, from what the runs wrote:

* ``<out_dir>/results.json``: per run its best FID (or JSD4 and JSD6) and the step, wall-clock
  time, steps/s, device, commit and versions (``ttur_tf.sweep.table1_results``);
* ``<out_dir>/figures/<row>_best_<metric>.png``: the best value so far against steps and against
  wall-clock time, TTUR against the original, mean and min/max band over seeds;
* ``--paper_results`` (default ``<out_dir>/paper_results.md``): ``docs/paper_results.md`` with
  its "measured here" column filled from the finished runs (pass ``docs/paper_results.md`` to
  update the project's copy); ``pytest -m paper`` reads ``results.json`` through
  ``TTUR_PAPER_RESULTS``;
* a table printed at the end: the paper's value against the measured one.

The exit status is 1 if a run failed (the others are still reported).
"""

from __future__ import annotations

import dataclasses
import functools
import shlex
import sys
from pathlib import Path

from absl import flags

from ttur_tf import cli
from ttur_tf.files import check_writable_folder
from ttur_tf.run_lock import LOCK_FILE, RunLock
from ttur_tf.sweep import runs as runs_lib
from ttur_tf.sweep import table1 as table1_lib
from ttur_tf.sweep import table1_report, table1_results
from ttur_tf.sweep.event_scalars import read_scalars

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_list("rows", [], "Table 1 rows to run (default: all), e.g. "
                      "wgan_gp_cifar10,lang_1b: the flagfile names without _ttur/_orig.flags.",
                      **fv)
    flags.DEFINE_string("seeds", "0", "Seeds of every setting: 0-9, 0,2,5 or 0-2,7 (the paper "
                        "reports one run per setting).", **fv)
    flags.DEFINE_string("out_dir", "table1", "The reproduction's folder: runs, results.json, "
                        "figures.", **fv)
    flags.DEFINE_string("configs", str(ROOT / "configs"), "Folder of the rows' flagfiles.", **fv)
    flags.DEFINE_string("strategy", "", "--strategy of every run (default: each flagfile's).",
                        **fv)
    flags.DEFINE_string("stats_dir", "", "Folder of the original's published FID statistics "
                        "(fid_stats_cifar10_train.npz, ...): each image row compares with its "
                        "dataset's file, as the paper did. Empty: statistics of the training "
                        "data, computed once per run.", **fv)
    flags.DEFINE_string("inception_path", "", "The 2015 Inception graph for every image row "
                        "(default: each run finds or downloads it).", **fv)
    flags.DEFINE_multi_string("train_arg", [], "An argument for every run, after its flagfile "
                              "(repeat the flag). Anything but data, graph, statistics and device "
                              "arguments makes the results 'not the paper's setting'.", **fv)
    flags.DEFINE_multi_string("row_arg", [], "ROW:ARGUMENT, an argument for the runs of one row, "
                              "e.g. lang_1b:--dataset=/data/1-billion-word (repeat the flag).",
                              **fv)
    flags.DEFINE_integer("parallel", 1, "Runs trained at the same time (one per GPU, say).",
                         lower_bound=1, **fv)
    flags.DEFINE_string("launcher", "", "A command each run's process is started through, "
                        "e.g. 'srun --gres=gpu:1' (the run's 'python script ...' follows it).",
                        **fv)
    flags.DEFINE_string("paper_results", "", "Where the rendered paper-results document goes "
                        "(default: <out_dir>/paper_results.md).", **fv)
    flags.DEFINE_bool("report_only", False, "Train nothing: report the runs as they are.", **fv)


def _row_arguments(row_args: list[str], rows: dict[str, table1_lib.Row]) -> dict[str, list[str]]:
    by_row: dict[str, list[str]] = {}
    for text in row_args:
        name, separator, argument = text.partition(":")
        if not separator or not argument.startswith("-"):
            raise ValueError(f"--row_arg={text!r}: use ROW:ARGUMENT, e.g. "
                             "lang_1b:--dataset=/data/corpus")
        table1_lib.select_rows(rows, [name])  # a name that is not a row is refused
        by_row.setdefault(name, []).append(argument)
    return by_row


def _arguments_of(row: table1_lib.Row, fv, by_row: dict[str, list[str]]) -> list[str]:
    """What every run of ``row`` gets after its flagfile."""
    arguments = []
    if fv.strategy:
        arguments.append(f"--strategy={fv.strategy}")
    if row.metrics == ("fid",):
        if fv.inception_path:
            arguments.append(f"--inception_path={fv.inception_path}")
        if fv.stats_dir:
            name = table1_lib.PUBLISHED_STATISTICS.get(row.dataset or "")
            if name is None:
                raise ValueError(f"no published statistics are known for {row.name}'s dataset "
                                 f"{row.dataset!r}: leave --stats_dir empty or pass "
                                 f"--row_arg={row.name}:--fid_stats=PATH")
            path = Path(fv.stats_dir) / name
            if not path.is_file():
                raise FileNotFoundError(f"{path} does not exist: download it from "
                                        "http://bioinf.jku.at/research/ttur/ttur_stats/ into "
                                        f"{fv.stats_dir}")
            arguments.append(f"--fid_stats={path}")
    return arguments + list(fv.train_arg) + by_row.get(row.name, [])


def plan(rows: list[table1_lib.Row], seeds: list[int], out_dir: Path, fv,
         by_row: dict[str, list[str]]) -> list[tuple[table1_lib.Row, str, list[str], runs_lib.Run]]:
    """(row, setting, its arguments, run) for every row, setting and seed."""
    launcher = tuple(shlex.split(fv.launcher))
    planned = []
    for row in rows:
        arguments = _arguments_of(row, fv, by_row)
        for setting in table1_lib.SETTINGS:
            flagfile = row.flagfiles[setting]
            name = flagfile.name.removesuffix(".flags")
            for run in runs_lib.plan_runs({name: flagfile}, seeds, out_dir,
                                          {name: runs_lib.default_trainer(flagfile, SCRIPTS)},
                                          arguments):
                planned.append((row, setting, arguments,
                                dataclasses.replace(run, command=launcher + run.command)))
    return planned


def main(argv, flag_values: flags.FlagValues) -> None:
    cli.reject_extra_arguments(argv)
    fv = flag_values
    out_dir = Path(fv.out_dir)
    with cli.user_errors_exit(runs_lib.INTERRUPTED_OUTCOME):
        all_rows = table1_lib.find_rows(Path(fv.configs))
        rows = table1_lib.select_rows(all_rows, list(fv.rows))
        seeds = runs_lib.parse_seeds(fv.seeds)
        by_row = _row_arguments(list(fv.row_arg), all_rows)
        check_writable_folder(out_dir)
        with RunLock(out_dir / LOCK_FILE, f"the Table 1 folder {out_dir}", "use another --out_dir"):
            results_path = out_dir / "results.json"
            previous = table1_results.read_results(results_path)
            planned = plan(rows, seeds, out_dir, fv, by_row)
            runs = [run for *_, run in planned]
            if fv.report_only:
                outcomes = [runs_lib.RunOutcome(run, "skipped" if run.is_finished() else "missing")
                            for run in runs]
            else:
                outcomes = runs_lib.run_all(runs, fv.parallel)
            # Each run's events are read once, for its entry and for the figures.
            scalars_of = functools.lru_cache(maxsize=None)(read_scalars)
            entries = [table1_results.run_entry(row.name, setting, run.seed, run.flagfile,
                                                run.logdir, row.metrics, arguments, scalars_of)
                       for row, setting, arguments, run in planned]
            this_machine = table1_results.environment(ROOT)
            entries = table1_results.write_results(results_path, entries, previous, this_machine)
            figures = table1_report.write_figures(rows, entries, out_dir / "figures",
                                                  scalars_of)
            destination = Path(fv.paper_results or out_dir / "paper_results.md")
            table1_report.write_paper_results(ROOT / "docs" / "paper_results.md",
                                              list(all_rows.values()), entries, destination)
            print("\n".join(table1_report.summary_lines(rows, entries)))
            print(f"wrote {results_path}, {destination}"
                  + (f" and {len(figures)} figures in {out_dir / 'figures'}" if figures else ""))
    failed = [outcome for outcome in outcomes if outcome.status in ("failed", "missing")]
    if failed:
        print(f"{len(failed)} of {len(runs)} runs are not finished:", file=sys.stderr)
        for outcome in failed:
            print(f"  {outcome.run.flagfile.name} seed {outcome.run.seed}: {outcome.status}; "
                  f"{outcome.run.log_path}", file=sys.stderr)
        if not fv.report_only:
            print("fix the cause and rerun the same command: finished runs are skipped",
                  file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    cli.run_script(define_flags, main)
