"""The paper's saddle-point toy experiment (Figure 4): one vs two time scales.

    python scripts/toy_saddle.py [--seed=0] [--n_iter=5000] [--sigma=1] [--out_dir=toy_saddle]
        [--rules=alternating,simultaneous,extragradient,optimistic]

Runs the four settings of the figure (ttur_tf.toy.saddle.SETTINGS) with each update rule
(default: the notebook's, alternating) and the same noise seed and writes ``saddle_curves.csv``
(setting, rule, iteration, x, y, objective, distance) and, with matplotlib, ``saddle.png``: per
run the objective,
the distance to the saddle and the (x, y) path. Prints a table: per run the spectral radius of
the noise-free update at the saddle and what it predicts, the first iteration within 0.1 of the
saddle and the mean distance over the last 500 iterations.
"""

import io
from pathlib import Path

import numpy as np
from absl import flags

from ttur_tf import cli, plots
from ttur_tf.toy import rules, saddle
from ttur_tf.files import check_writable_folder, write_bytes_atomically


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_integer("seed", 0, "Seed of the gradient noise.", lower_bound=0, **fv)
    flags.DEFINE_integer("n_iter", 5000, "Iterations per setting.", lower_bound=1, **fv)
    flags.DEFINE_float("sigma", 1.0, "Standard deviation of the gradient noise.", lower_bound=0.0,
                       **fv)
    flags.DEFINE_list("rules", ["alternating"], "Update rules, comma-separated, of "
                      f"{rules.UPDATE_RULES}; alternating is the notebook's.", **fv)
    flags.register_validator("rules", lambda names: bool(names) and set(names) <= set(
        rules.UPDATE_RULES), f"--rules: one or more of {rules.UPDATE_RULES}", **fv)
    flags.DEFINE_string("out_dir", "toy_saddle", "Folder for saddle_curves.csv and saddle.png.",
                        **fv)


def write_csv(runs: dict, path: Path) -> None:
    text = io.StringIO()
    text.write("setting,rule,iteration,x,y,objective,distance\n")
    for (name, rule), run in runs.items():
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged run holds inf / nan
            columns = (run.x, run.y, saddle.objective(run.x, run.y),
                       saddle.distance_to_saddle(run.x, run.y))
        for i, values in enumerate(zip(*(column.tolist() for column in columns))):
            text.write(f"{name},{rule},{i}," + ",".join(map(repr, values)) + "\n")
    write_bytes_atomically(path, text.getvalue().encode())


def write_png(runs: dict, path: Path) -> bool:
    panels = plots.figure_rows(len(runs), 3)
    if panels is None:
        return False
    figure, axes = panels
    for row, ((name, rule), run) in enumerate(runs.items()):
        lr_x, lr_y = saddle.SETTINGS[name]
        axes[row, 0].plot(run.objective)
        axes[row, 0].axhline(100.0, color="red", linewidth=0.5)
        finite = np.isfinite(run.distance)  # a diverged run is drawn until it overflows
        axes[row, 1].semilogy(np.flatnonzero(finite), run.distance[finite])
        axes[row, 2].scatter(run.x, run.y, s=2, c=np.arange(len(run.x)), cmap="viridis")
        axes[row, 2].plot([0], [0], "r+")
        axes[row, 0].set_ylabel(f"{name}, {rule}\nlr_x {lr_x:g}, lr_y {lr_y:g}")
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
        runs = {(name, rule): saddle.run_saddle(lr_x, lr_y, fv.n_iter, fv.sigma,
                                             np.random.default_rng(fv.seed), rule=rule)
                for name, (lr_x, lr_y) in saddle.SETTINGS.items() for rule in fv.rules}
        write_csv(runs, out_dir / "saddle_curves.csv")
        wrote_png = write_png(runs, out_dir / "saddle.png")
    tail = min(500, fv.n_iter)
    print(f"sigma {fv.sigma:g}, {fv.n_iter} iterations from {saddle.START}, noise seed {fv.seed}")
    print(f"{'setting':12s} {'rule':14s} {'rho':>9s}  {'predicts':9s}  {'first within 0.1':>16s}  "
          f"mean distance, last {tail}")
    for (name, rule), run in runs.items():
        radius = saddle.saddle_spectral_radius(rule, *saddle.SETTINGS[name])
        print(f"{name:12s} {rule:14s} {radius:9.4f}  {rules.predicted_outcome(radius):9s}  "
              f"{run.first_iteration_within(0.1):16g}  {run.distance[-tail:].mean():.4g}")
    print("rho: the spectral radius of one noise-free update's Jacobian at the saddle; "
          "< 1 converges locally (the noise keeps a converging run near it)")
    print(f"wrote {out_dir / 'saddle_curves.csv'}" + (f" and {out_dir / 'saddle.png'}" if wrote_png else ""))


if __name__ == "__main__":
    cli.run_script(define_flags, main)
