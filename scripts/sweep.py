"""Compares training settings over several seeds, as the paper reports its curves.

    python scripts/sweep.py --flagfile=configs/quickstart.flags \
        --flagfile=configs/quickstart_single_scale.flags --seeds=0-2 [--parallel=2] [--out_dir=sweep]
        [--train_arg=--steps=300 ...]

Each ``--flagfile`` here names one setting (it is not read as this script's flags). Every setting
is trained with every seed (ttur_tf.sweep.runs: ``<out_dir>/<setting>/seed_<k>``, resumable:
a finished run is skipped, an interrupted one resumes from its checkpoint). Then, for every
metric the runs log (or ``--metrics``), ``<out_dir>/<metric>.png`` shows each setting's mean with
its min/max band against steps and against wall-clock time, ``curves.csv`` holds the numbers,
and a table of each run's best value (mean [min, max] over seeds) is printed and written to
``summary.csv``. The exit status is 1 if a run failed (the others are still reported).
"""

from __future__ import annotations

import sys
from pathlib import Path

from absl import flags

from ttur_tf import cli
from ttur_tf.files import check_writable_folder
from ttur_tf.run_lock import LOCK_FILE, RunLock
from ttur_tf.sweep import bands as bands_lib
from ttur_tf.sweep import report, runs as runs_lib
from ttur_tf.sweep.event_scalars import read_scalars

SCRIPTS = Path(__file__).resolve().parent


def flagfiles_as_settings(argv: list[str]) -> list[str]:
    """``argv`` with each ``--flagfile=F`` (or ``--flagfile F``) turned into ``--setting=F``:
    this script's flagfiles name the settings to compare."""
    converted, index = [], 0
    while index < len(argv):
        argument = argv[index]
        if argument in ("--flagfile", "-flagfile") and index + 1 < len(argv):
            converted.append(f"--setting={argv[index + 1]}")
            index += 2
            continue
        for prefix in ("--flagfile=", "-flagfile="):
            if argument.startswith(prefix):
                argument = "--setting=" + argument[len(prefix):]
        converted.append(argument)
        index += 1
    return converted


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_multi_string("setting", [], "A setting's flagfile (repeat the flag; on the "
                              "command line --flagfile=F means the same).", **fv)
    flags.DEFINE_string("seeds", "0-9", "Seeds of every setting: 0-9, 0,2,5 or 0-2,7.", **fv)
    flags.DEFINE_string("out_dir", "sweep", "The sweep's folder: runs, figures, CSV.", **fv)
    flags.DEFINE_integer("parallel", 1, "Runs trained at the same time. With more than one, "
                         "each gets cores/parallel TensorFlow threads (unless "
                         "TF_NUM_INTRAOP_THREADS is set). A run repeats exactly at the same "
                         "thread count only: other counts round differently and training "
                         "amplifies it, so compare settings within one sweep.", lower_bound=1,
                         **fv)
    flags.DEFINE_string("trainer", "", "The training script every run calls (default: "
                        "train_dcgan.py for a flagfile with --model=dcgan, else train_wgan_gp.py).",
                        **fv)
    flags.DEFINE_multi_string("train_arg", [], "An argument added to every run's command after "
                              "its flagfile, e.g. --train_arg=--steps=300 (repeat the flag).",
                              **fv)
    flags.DEFINE_list("metrics", [], "Metrics to plot (default: every scalar the runs log, "
                      "except elapsed_seconds and the running best_* values).", **fv)
    flags.DEFINE_list("summary_metrics", ["fid", "js4", "js6", "kid"], "Metrics whose best value "
                      "per run is summarized (those the runs log).", **fv)
    flags.DEFINE_bool("report_only", False, "Train nothing: report the runs finished so far.",
                      **fv)


def _report_runs(finished: list[runs_lib.Run], fv, out_dir: Path) -> None:
    scalars: dict[str, list] = {}
    for run in finished:
        scalars.setdefault(run.setting, []).append(read_scalars(run.logdir))
    every_run = [run_scalars for group in scalars.values() for run_scalars in group]
    metrics = list(fv.metrics) or bands_lib.plotted_tags(every_run)
    curves, figures = {}, []
    for metric in metrics:
        of_metric = {setting: curve for setting, group in scalars.items()
                     if (curve := bands_lib.band(group, metric)) is not None}
        if not of_metric:
            print(f"no run logged {metric!r}: no figure")
            continue
        curves.update({(setting, metric): curve for setting, curve in of_metric.items()})
        if report.write_figure(metric, of_metric, out_dir / f"{metric}.png"):
            figures.append(f"{metric}.png")
    report.write_curves_csv(curves, out_dir / "curves.csv")
    bests = {(setting, metric): best for metric in fv.summary_metrics
             for setting, group in scalars.items()
             if (best := bands_lib.best_of_runs(group, metric)) is not None}
    report.write_summary_csv(bests, out_dir / "summary.csv")
    if bests:
        print("\n".join(report.summary_lines(bests)))
    print(f"wrote {out_dir / 'curves.csv'}, {out_dir / 'summary.csv'}"
          + (f" and {len(figures)} figures ({', '.join(figures)})" if figures else ""))


def main(argv, flag_values: flags.FlagValues) -> None:
    cli.reject_extra_arguments(argv)
    fv = flag_values
    out_dir = Path(fv.out_dir)
    with cli.user_errors_exit(runs_lib.INTERRUPTED_OUTCOME):
        settings = runs_lib.setting_names(fv.setting)
        seeds = runs_lib.parse_seeds(fv.seeds)
        if fv.trainer and not Path(fv.trainer).is_file():
            raise FileNotFoundError(f"--trainer={fv.trainer} does not exist")
        trainers = {setting: Path(fv.trainer) if fv.trainer
                    else runs_lib.default_trainer(flagfile, SCRIPTS)
                    for setting, flagfile in settings.items()}
        check_writable_folder(out_dir)
        with RunLock(out_dir / LOCK_FILE, f"the sweep folder {out_dir}",
                     "use another --out_dir"):
            planned = runs_lib.plan_runs(settings, seeds, out_dir, trainers, list(fv.train_arg))
            if fv.report_only:
                outcomes = [runs_lib.RunOutcome(run, "skipped" if run.is_finished() else "missing")
                            for run in planned]
            else:
                outcomes = runs_lib.run_all(planned, fv.parallel)
            finished = [outcome.run for outcome in outcomes
                        if outcome.status in ("skipped", "finished")]
            if finished:
                _report_runs(finished, fv, out_dir)
    unfinished = [outcome for outcome in outcomes if outcome.run not in finished]
    if unfinished:
        _print_unfinished(unfinished, len(planned))
        if not fv.report_only:
            print("fix the cause and rerun the same command: finished runs are skipped",
                  file=sys.stderr)
            sys.exit(1)


def _print_unfinished(unfinished: list[runs_lib.RunOutcome], planned: int) -> None:
    print(f"{len(unfinished)} of {planned} runs are not in the report:", file=sys.stderr)
    for outcome in unfinished:
        run = outcome.run
        print(f"  {run.setting} seed {run.seed}: {outcome.status}; {run.log_path}",
              file=sys.stderr)
        for line in outcome.log_tail.splitlines():
            print(f"    {line}", file=sys.stderr)


if __name__ == "__main__":
    sys.argv = flagfiles_as_settings(sys.argv)
    cli.run_script(define_flags, main)
