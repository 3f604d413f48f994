"""What a sweep writes: per metric the mean and min/max band of each setting against steps and
against wall-clock time (CSV, and PNG with matplotlib), and a summary of each run's best value.

Files under the sweep's folder:

* ``curves.csv``: setting, metric, step, seconds (mean wall clock), runs, mean, min, max;
* ``summary.csv``: setting, metric, runs, best_mean, best_min, best_max, last_mean, last_min,
  last_max (best: each run's lowest value, highest for IS, precision and recall);
* ``<metric>.png``: two panels, against steps and against wall-clock minutes.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ttur_tf import plots
from ttur_tf.files import write_bytes_atomically
from ttur_tf.sweep.bands import Band, Best

__all__ = ["summary_lines", "write_curves_csv", "write_figure", "write_summary_csv"]


def write_curves_csv(bands: dict[tuple[str, str], Band], path: Path) -> None:
    """``bands``: (setting, metric) → its band."""
    text = io.StringIO()
    text.write("setting,metric,step,seconds,runs,mean,min,max\n")
    for (setting, metric), curve in bands.items():
        for step, seconds, mean, low, high in zip(curve.steps.tolist(), curve.seconds.tolist(),
                                                  curve.mean.tolist(), curve.low.tolist(),
                                                  curve.high.tolist()):
            text.write(f"{setting},{metric},{step},{seconds!r},{curve.runs},{mean!r},{low!r},"
                       f"{high!r}\n")
    write_bytes_atomically(path, text.getvalue().encode())


def write_summary_csv(bests: dict[tuple[str, str], Best], path: Path) -> None:
    """``bests``: (setting, metric) → its runs' best and last values."""
    text = io.StringIO()
    text.write("setting,metric,runs,best_mean,best_min,best_max,last_mean,last_min,last_max\n")
    for (setting, metric), best in bests.items():
        numbers = [best.best.mean(), best.best.min(), best.best.max(),
                   best.last.mean(), best.last.min(), best.last.max()]
        text.write(f"{setting},{metric},{best.best.size}," + ",".join(map(repr, map(float, numbers)))
                   + "\n")
    write_bytes_atomically(path, text.getvalue().encode())


def summary_lines(bests: dict[tuple[str, str], Best]) -> list[str]:
    """A table: per setting and metric, the runs' best and last values as mean [min, max]."""
    width = max([len(setting) for setting, _ in bests] + [7])
    lines = [f"{'setting':{width}s}  {'metric':8s} runs  {'best: mean [min, max]':32s}  "
             "last: mean [min, max]"]
    for (setting, metric), best in bests.items():
        last = f"{best.last.mean():.4g} [{best.last.min():.4g}, {best.last.max():.4g}]"
        lines.append(f"{setting:{width}s}  {metric:8s} {best.best.size:4d}  "
                     f"{best.describe():32s}  {last}")
    return lines


def write_figure(metric: str, bands: dict[str, Band], path: Path) -> bool:
    """``bands``: setting → its band of ``metric``. Returns False without matplotlib."""
    panels = plots.figure_rows(1, 2)
    if panels is None:
        return False
    figure, axes = panels
    for setting, curve in bands.items():
        label = f"{setting} ({curve.runs} runs)"
        line, = axes[0, 0].plot(curve.steps, curve.mean, label=label)
        axes[0, 0].fill_between(curve.steps, curve.low, curve.high, color=line.get_color(),
                                alpha=0.2)
        timed = np.isfinite(curve.seconds)
        minutes = curve.seconds[timed] / 60.0
        axes[0, 1].plot(minutes, curve.mean[timed], color=line.get_color(), label=label)
        axes[0, 1].fill_between(minutes, curve.low[timed], curve.high[timed],
                                color=line.get_color(), alpha=0.2)
    axes[0, 0].set_xlabel("step")
    axes[0, 1].set_xlabel("wall clock (minutes)")
    for axis in axes[0]:
        axis.set_ylabel(metric)
        axis.legend(fontsize="small")
    axes[0, 0].set_title(f"{metric}: mean, min/max band over seeds")
    plots.save_figure(figure, path)
    return True
