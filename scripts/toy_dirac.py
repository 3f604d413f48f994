"""The Dirac-GAN (Mescheder et al. 2018): which update rules and regularizers converge.

    python scripts/toy_dirac.py [--methods=gan/simultaneous/none,gan/alternating/r1,...]
        [--h_theta=0.1] [--h_psi=0.1] [--gamma=1] [--noise=1] [--iterations=3000]
        [--out_dir=toy_dirac]

Each method is LOSS/RULE/REGULARIZER (ttur_tf.toy.dirac). For each it runs the trajectory from
(θ, ψ) = (1, 1) with the step sizes (h_θ, h_ψ) (two time scales when they differ), writes
``dirac_trajectories.csv`` (method, iteration, theta, psi, distance) and, with matplotlib,
``dirac.png`` (the paths and the distance to the equilibrium), and prints a table: the spectral
radius of the update's Jacobian at the equilibrium, what it predicts, and the final distance.
"""

import io
from pathlib import Path

import numpy as np
from absl import flags

from ttur_tf import cli, plots
from ttur_tf.files import check_writable_folder, write_bytes_atomically
from ttur_tf.toy.rules import predicted_outcome
from ttur_tf.toy.dirac import (
    LOSSES, REGULARIZERS, UPDATE_RULES, DiracGame, equilibrium_is_stationary, run_dirac,
    spectral_radius, update_jacobian,
)

DEFAULT_METHODS = [
    "gan/simultaneous/none", "gan/alternating/none", "gan/simultaneous/r1",
    "gan/alternating/r1", "gan/simultaneous/instance_noise", "gan/simultaneous/gp",
    "wgan/simultaneous/none", "wgan/extragradient/none", "wgan/optimistic/none",
]


def _valid_method(method: str) -> bool:
    parts = method.split("/")
    return (len(parts) == 3 and parts[0] in LOSSES and parts[1] in UPDATE_RULES
            and parts[2] in REGULARIZERS)


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_list("methods", DEFAULT_METHODS, "LOSS/RULE/REGULARIZER, comma-separated; "
                      f"losses {LOSSES}, rules {UPDATE_RULES}, regularizers {REGULARIZERS}.", **fv)
    flags.DEFINE_float("h_theta", 0.1, "The generator's step size.", lower_bound=0.0, **fv)
    flags.DEFINE_float("h_psi", 0.1, "The discriminator's step size.", lower_bound=0.0, **fv)
    flags.DEFINE_float("gamma", 1.0, "The weight of r1, r2 and gp.", lower_bound=0.0, **fv)
    flags.DEFINE_float("noise", 1.0, "σ of instance noise.", lower_bound=0.0, **fv)
    flags.DEFINE_integer("iterations", 3000, "Updates per method.", lower_bound=1, **fv)
    flags.DEFINE_string("out_dir", "toy_dirac", "Folder for the CSV and the PNG.", **fv)
    flags.register_validator("methods", lambda methods: all(map(_valid_method, methods)),
                             "--methods: each LOSS/RULE/REGULARIZER", **fv)
    flags.register_multi_flags_validator(
        ["h_theta", "h_psi"], lambda values: values["h_theta"] > 0 and values["h_psi"] > 0,
        "--h_theta and --h_psi must be positive", **fv)


def write_csv(paths: dict, path: Path) -> None:
    text = io.StringIO()
    text.write("method,iteration,theta,psi,distance\n")
    for method, trajectory in paths.items():
        for index, (theta, psi) in enumerate(trajectory.tolist()):
            text.write(f"{method},{index},{theta!r},{psi!r},{float(np.hypot(theta, psi))!r}\n")
    write_bytes_atomically(path, text.getvalue().encode())


def write_png(paths: dict, path: Path) -> bool:
    panels = plots.figure_rows(len(paths), 2)
    if panels is None:
        return False
    figure, axes = panels
    for row, (method, trajectory) in enumerate(paths.items()):
        axes[row, 0].plot(trajectory[:, 0], trajectory[:, 1], linewidth=0.8)
        axes[row, 0].plot([0], [0], "r+")
        axes[row, 0].set_ylabel(method)
        axes[row, 1].semilogy(np.hypot(trajectory[:, 0], trajectory[:, 1]))
    axes[0, 0].set_title("(θ, ψ)")
    axes[0, 1].set_title("distance to the equilibrium")
    plots.save_figure(figure, path)
    return True


def main(argv, flag_values: flags.FlagValues) -> None:
    cli.reject_extra_arguments(argv)
    fv = flag_values
    out_dir = Path(fv.out_dir)
    steps = (fv.h_theta, fv.h_psi)
    with cli.user_errors_exit():
        check_writable_folder(out_dir)
        paths, rows = {}, []
        for method in fv.methods:
            loss, rule, regularizer = method.split("/")
            game = DiracGame(loss, regularizer, gamma=fv.gamma, noise=fv.noise)
            paths[method] = run_dirac(game, rule, steps, iterations=fv.iterations)
            if equilibrium_is_stationary(game):
                radius = spectral_radius(update_jacobian(game, rule, steps))
                prediction = predicted_outcome(radius)
            else:
                radius, prediction = float("nan"), "no fixed point at (0, 0)"
            rows.append((method, radius, prediction, float(np.hypot(*paths[method][-1]))))
        write_csv(paths, out_dir / "dirac_trajectories.csv")
        wrote_png = write_png(paths, out_dir / "dirac.png")
    print(f"h_theta {fv.h_theta:g}, h_psi {fv.h_psi:g}, {fv.iterations} iterations from (1, 1)")
    print(f"{'method':34s} {'rho(Jacobian)':>13s}  {'predicts':9s}  final distance")
    for method, radius, prediction, distance in rows:
        print(f"{method:34s} {radius:13.6f}  {prediction:9s}  {distance:.3g}")
    print("rho: the spectral radius of one update's Jacobian at (0, 0); < 1 converges locally")
    print(f"wrote {out_dir / 'dirac_trajectories.csv'}"
          + (f" and {out_dir / 'dirac.png'}" if wrote_png else ""))


if __name__ == "__main__":
    cli.run_script(define_flags, main)
