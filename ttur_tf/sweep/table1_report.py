"""What a Table 1 reproduction shows: the "measured here" column of ``docs/paper_results.md``, a
figure per row and metric of the best value so far against wall-clock time (TTUR against the
original, mean with the min/max band over seeds, as the paper's Figures 3 and 5), and a table
printed at the end.

Only finished runs are reported. A row measured with arguments that change what is trained
(``overrides`` in ``results.json``, e.g. a smaller ``--steps``) says so in its cell: it is not a
measurement of the paper's setting.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ttur_tf.files import write_bytes_atomically
from ttur_tf.sweep import bands as bands_lib
from ttur_tf.sweep import report
from ttur_tf.sweep.event_scalars import read_scalars
from ttur_tf.sweep.table1 import SETTINGS, Row

__all__ = ["measured_cell", "render_paper_results", "summary_lines", "write_figures",
           "write_paper_results"]

_LABELS = {"fid": "FID", "js4": "JSD4", "js6": "JSD6"}


def _finished(entries: list[dict], row: str, setting: str) -> list[dict]:
    return [entry for entry in entries if entry["row"] == row and entry["setting"] == setting
            and entry["status"] == "finished"]


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3g}"
    return f"{np.mean(values):.3g} [{min(values):.3g}, {max(values):.3g}]"


def _steps(steps: list[int]) -> str:
    low, high = min(steps), max(steps)
    as_text = lambda step: f"{step / 1000:.3g}k" if step >= 1000 else str(step)  # noqa: E731
    return as_text(low) if low == high else f"{as_text(low)}–{as_text(high)}"


def measured_cell(row: Row, entries: list[dict]) -> str | None:
    """The "measured here" text of ``row``: per setting the best value of each metric (mean
    [min, max] over seeds) and the steps where it was reached, the seeds and the device; None
    if no run of the row finished."""
    parts, seeds, devices, changed = [], {}, set(), set()
    for setting in SETTINGS:
        runs = _finished(entries, row.name, setting)
        if not runs:
            continue
        values = []
        for metric in row.metrics:
            best = [run["best"][metric] for run in runs if metric in run["best"]]
            if best:
                values.append(f"{_LABELS.get(metric, metric)} "
                              f"{_spread([value['value'] for value in best])} at "
                              f"{_steps([value['step'] for value in best])}")
        name = "TTUR" if setting == "ttur" else "orig"
        parts.append(f"{name} " + ", ".join(values))
        seeds[name] = len(runs)
        devices.update(run.get("environment", {}).get("device", "?") for run in runs)
        changed.update(" ".join(run["overrides"]) for run in runs if run["overrides"])
    if not parts:
        return None
    if len(set(seeds.values())) == 1:
        count = next(iter(seeds.values()))
        seeds_text = f"{count} seed{'s' if count > 1 else ''}"
    else:
        seeds_text = "seeds: " + ", ".join(f"{name} {count}" for name, count in seeds.items())
    cell = f"{'; '.join(parts)} ({seeds_text}; {', '.join(sorted(devices))})"
    if changed:
        cell += f"; with {' | '.join(sorted(changed))}: not the paper's setting"
    return cell


def render_paper_results(template: str, rows: list[Row], entries: list[dict]) -> str:
    """``template`` (docs/paper_results.md) with the last cell of each row's table line (the
    line naming ``configs/<row>_ttur.flags``) replaced by ``measured_cell``."""
    lines = template.splitlines(keepends=True)
    for row in rows:
        cell = measured_cell(row, entries)
        if cell is None:
            continue
        marker = f"`configs/{row.flagfiles['ttur'].name}`"
        for index, line in enumerate(lines):
            if line.startswith("|") and marker in line:
                cells = line.rstrip("\n").split("|")
                cells[-2] = f" {cell} "
                lines[index] = "|".join(cells) + "\n"
    return "".join(lines)


def write_figures(rows: list[Row], entries: list[dict], folder: Path,
                  scalars_of: Callable[[str], dict] = read_scalars) -> list[Path]:
    """Per row and metric, ``<folder>/<row>_best_<metric>.png``: the best value so far of the
    finished runs, TTUR against orig, against steps and wall-clock time (``scalars_of`` reads a
    run folder's scalars). Returns the files written (none without matplotlib)."""
    written = []
    for row in rows:
        scalars = {setting: [scalars_of(run["logdir"])
                             for run in _finished(entries, row.name, setting)]
                   for setting in SETTINGS}
        for metric in row.metrics:
            curves = {f"{row.name} {setting}": curve for setting, runs in scalars.items()
                      if runs and (curve := bands_lib.band(runs, f"best_{metric}")) is not None}
            path = folder / f"{row.name}_best_{metric}.png"
            if curves and report.write_figure(f"best_{metric}", curves, path):
                written.append(path)
    return written


def summary_lines(rows: list[Row], entries: list[dict]) -> list[str]:
    """A table: per row, setting and metric the paper's value, the best measured (mean [min,
    max]), the runs finished of those planned, steps/s and wall-clock hours."""
    lines = [f"{'row':18s} {'setting':7s} {'metric':6s} {'paper':>6s}  {'measured best':26s} "
             f"{'runs':>5s} {'steps/s':>8s} {'hours':>6s}"]
    for row in rows:
        for setting in SETTINGS:
            planned = [entry for entry in entries
                       if entry["row"] == row.name and entry["setting"] == setting]
            runs = _finished(entries, row.name, setting)
            rates = [run["steps_per_second"] for run in runs if run["steps_per_second"]]
            hours = [run["wall_seconds"] / 3600 for run in runs if run["wall_seconds"]]
            for metric in row.metrics:
                best = [run["best"][metric]["value"] for run in runs if metric in run["best"]]
                lines.append(
                    f"{row.name:18s} {setting:7s} {metric:6s} {row.paper[setting][metric]:6.3g}  "
                    f"{_spread(best) if best else '-':26s} {len(runs):2d}/{len(planned):<2d} "
                    f"{np.mean(rates) if rates else float('nan'):8.3g} "
                    f"{np.mean(hours) if hours else float('nan'):6.3g}")
    return lines


def write_paper_results(template: Path, rows: list[Row], entries: list[dict],
                        destination: Path) -> None:
    """Renders ``template`` into ``destination`` (atomically; it may be the template itself)."""
    text = render_paper_results(template.read_text(encoding="utf-8"), rows, entries)
    write_bytes_atomically(destination, text.encode("utf-8"))
