"""Estimates what each Table 1 row costs on a GPU: hours of both settings and memory.

    python scripts/estimate_table1_cost.py [--rows=wgan_gp_cifar10,lang_1b]
        [--gpu_tflops=15.7] [--gpu_name="V100 (float32 peak)"] [--iterations=2]
        [--inception_path=classify_image_graph_def.pb] [--out=table1/cost_estimates.json]

Per row (``ttur_tf.sweep.table1_cost``): the float operations of one iteration of each setting
(the profiler, on the traced train step at the flagfile's sizes) and of its evaluations, one
iteration timed here, this machine's matmul rate; the GPU is assumed to reach the same fraction
of ``--gpu_tflops`` as this machine reached of its matmul rate. Prints a Markdown table (the one
in ``docs/paper_results.md``) and writes every measured number to ``--out``. Labelled an
estimate wherever it is shown: nothing here ran on a GPU.

``--inception_path``: the 2015 graph, or any graph with its interface and costs (default: the
real graph where ``ttur_tf`` finds it, else the full-size costs-only graph of
``ttur_tf.fid.fullsize``, built into the cache once). ``--override=NAME=VALUE`` changes a flag
of every measured configuration (tests use it to measure tiny networks).
"""

from __future__ import annotations

import dataclasses
import json
import platform
from pathlib import Path

from absl import flags

from ttur_tf import cli
from ttur_tf.files import write_bytes_atomically
from ttur_tf.sweep import table1 as table1_lib

ROOT = Path(__file__).resolve().parents[1]


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_list("rows", [], "Table 1 rows (default: all).", **fv)
    flags.DEFINE_string("configs", str(ROOT / "configs"), "Folder of the rows' flagfiles.", **fv)
    flags.DEFINE_float("gpu_tflops", 15.7, "The GPU's float32 peak in TFLOP/s (V100: 15.7, "
                       "A100: 19.5, RTX 3090: 35.6).", lower_bound=0.001, **fv)
    flags.DEFINE_string("gpu_name", "V100 (float32 peak 15.7 TFLOP/s)", "What --gpu_tflops "
                        "describes, for the table.", **fv)
    flags.DEFINE_integer("iterations", 2, "Iterations timed per row (after one untimed).",
                         lower_bound=1, **fv)
    flags.DEFINE_string("inception_path", "", "Graph whose operations an FID evaluation runs "
                        "per image (see above).", **fv)
    flags.DEFINE_multi_string("override", [], "NAME=VALUE: a training flag for every measured "
                              "configuration (repeat the flag).", **fv)
    flags.DEFINE_string("out", "table1/cost_estimates.json", "Where the measurements go.", **fv)


def _inception_path(given: str) -> Path:
    if given:
        return Path(given)
    from ttur_tf.errors import InceptionGraphError
    from ttur_tf.fid.fullsize import cached_fullsize_graph
    from ttur_tf.fid.inception import locate_graph

    try:
        return locate_graph(None, download=False)
    except (FileNotFoundError, InceptionGraphError):
        return cached_fullsize_graph()


def _overrides(texts: list[str]) -> dict[str, str]:
    overrides = {}
    for text in texts:
        name, separator, value = text.partition("=")
        if not separator or not name:
            raise ValueError(f"--override={text!r}: use NAME=VALUE, e.g. dim=8")
        overrides[name.removeprefix("--")] = value
    return overrides


def _size(count: float, unit: float, suffix: str) -> str:
    return f"{count / unit:.3g} {suffix}"


def markdown(costs, gpu_tflops: float, gpu_name: str, machine: str) -> list[str]:
    """The table of ``docs/paper_results.md``: one line per row and setting."""
    lines = [f"Estimate for one {gpu_name}, from iterations measured on {machine} (see "
             "`scripts/estimate_table1_cost.py`): not measured on a GPU.", "",
             "| row | setting | steps × n_critic | GFLOP per iteration | evaluations × TFLOP | "
             "utilization here | hours here | GPU hours (estimate) | memory (estimate) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for cost in costs:
        for setting, (steps, n_critic, evaluations) in cost.settings.items():
            lines.append(
                f"| {cost.name} | {setting} | {steps:,} × {n_critic} | "
                f"{cost.iteration_flops(n_critic) / 1e9:.3g} | {evaluations} × "
                f"{cost.evaluation_flops / 1e12:.3g} | {cost.utilization:.0%} | "
                f"{cost.hours_here(setting):,.0f} | "
                f"{cost.gpu_hours(setting, gpu_tflops * 1e12):,.1f} | "
                f"{_size(cost.memory_bytes, 2**30, 'GiB')} |")
    return lines


def main(argv, fv: flags.FlagValues) -> None:
    cli.reject_extra_arguments(argv)
    with cli.user_errors_exit():
        from ttur_tf.sweep.table1_cost import matmul_flops_per_second, measure_row_cost

        rows = table1_lib.select_rows(table1_lib.find_rows(Path(fv.configs)), list(fv.rows))
        overrides = _overrides(list(fv.override))
        inception = _inception_path(fv.inception_path) if any(
            row.metrics == ("fid",) for row in rows) else None
        machine_rate = matmul_flops_per_second()
        costs = []
        for row in rows:
            print(f"measuring {row.name} ...", flush=True)
            costs.append(measure_row_cost(row.name, row.flagfiles, inception, fv.iterations,
                                          overrides, machine_rate))
        machine = (f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} CPUs, "
                   f"float32 matmul {machine_rate / 1e9:.0f} GFLOP/s")
        record = {"gpu_tflops": fv.gpu_tflops, "gpu_name": fv.gpu_name, "machine": machine,
                  "inception_path": str(inception) if inception else None,
                  "overrides": overrides, "rows": [dataclasses.asdict(cost) for cost in costs]}
        write_bytes_atomically(Path(fv.out), json.dumps(record, indent=1).encode())
        print("\n".join(markdown(costs, fv.gpu_tflops, fv.gpu_name, machine)))
        print(f"wrote {fv.out}")


if __name__ == "__main__":
    cli.run_script(define_flags, main)
