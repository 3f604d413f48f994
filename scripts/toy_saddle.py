"""The paper's saddle-point toy experiment (Figure 4): one vs two time scales.

    python scripts/toy_saddle.py [--seed=0] [--n_iter=5000] [--sigma=1] [--out_dir=toy_saddle]

Runs the four settings of the figure (ttur_tf.toy.SETTINGS) with the same noise seed and writes
``saddle_curves.csv`` (setting, iteration, x, y, objective, distance) and, with matplotlib,
``saddle.png``: per setting the objective, the distance to the saddle and the (x, y) path. Prints
per setting the first iteration within 0.1 of the saddle and the mean distance over the last 500
iterations.
"""

import io
from pathlib import Path

import numpy as np
from absl import flags

from ttur_tf import cli, plots, toy
from ttur_tf.files import check_writable_folder, write_bytes_atomically


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_integer("seed", 0, "Seed of the gradient noise.", lower_bound=0, **fv)
    flags.DEFINE_integer("n_iter", 5000, "Iterations per setting.", lower_bound=1, **fv)
    flags.DEFINE_float("sigma", 1.0, "Standard deviation of the gradient noise.", lower_bound=0.0,
                       **fv)
    flags.DEFINE_string("out_dir", "toy_saddle", "Folder for saddle_curves.csv and saddle.png.",
                        **fv)


def write_csv(runs: dict, path: Path) -> None:
    text = io.StringIO()
    text.write("setting,iteration,x,y,objective,distance\n")
    for name, run in runs.items():
        columns = (run.x, run.y, toy.objective(run.x, run.y), toy.distance_to_saddle(run.x, run.y))
        for i, values in enumerate(zip(*(column.tolist() for column in columns))):
            text.write(f"{name},{i}," + ",".join(map(repr, values)) + "\n")
    write_bytes_atomically(path, text.getvalue().encode())


def write_png(runs: dict, path: Path) -> bool:
    panels = plots.figure_rows(len(runs), 3)
    if panels is None:
        return False
    figure, axes = panels
    for row, (name, run) in enumerate(runs.items()):
        lr_x, lr_y = toy.SETTINGS[name]
        axes[row, 0].plot(run.objective)
        axes[row, 0].axhline(100.0, color="red", linewidth=0.5)
        axes[row, 1].semilogy(run.distance)
        axes[row, 2].scatter(run.x, run.y, s=2, c=np.arange(len(run.x)), cmap="viridis")
        axes[row, 2].plot([0], [0], "r+")
        axes[row, 0].set_ylabel(f"{name}\nlr_x {lr_x:g}, lr_y {lr_y:g}")
    for column, title in enumerate(("objective f(x, y)", "distance to the saddle", "x vs y")):
        axes[0, column].set_title(title)
    plots.save_figure(figure, path)
    return True


def main(argv, flag_values: flags.FlagValues) -> None:
    cli.reject_extra_arguments(argv)
    fv = flag_values
    out_dir = Path(fv.out_dir)
    with cli.user_errors_exit():
        check_writable_folder(out_dir)
        runs = {name: toy.run_saddle(lr_x, lr_y, fv.n_iter, fv.sigma, np.random.default_rng(fv.seed))
                for name, (lr_x, lr_y) in toy.SETTINGS.items()}
        write_csv(runs, out_dir / "saddle_curves.csv")
        wrote_png = write_png(runs, out_dir / "saddle.png")
    tail = min(500, fv.n_iter)
    for name, run in runs.items():
        print(f"{name:12s} first within 0.1 of the saddle: iteration {run.first_iteration_within(0.1):g}; "
              f"mean distance over the last {tail}: {run.distance[-tail:].mean():.4f}")
    print(f"wrote {out_dir / 'saddle_curves.csv'}" + (f" and {out_dir / 'saddle.png'}" if wrote_png else ""))


if __name__ == "__main__":
    cli.run_script(define_flags, main)
