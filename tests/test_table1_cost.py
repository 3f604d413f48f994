"""The GPU-time estimate of Table 1 rows: operation counts, its arithmetic, the script."""

import json

import pytest
import tensorflow as tf

from conftest import run_script_in_process
from ttur_tf.sweep.table1_cost import RowCost, graph_flops, inception_flops

TINY = {"dim": 8, "batch_size": 4, "image_size": 32, "fid_num_samples": 10, "seq_len": 8,
        "max_vocab_size": 12}


def test_the_profiler_counts_a_matmul_as_two_operations_per_multiply_add():
    graph = tf.Graph()
    with graph.as_default():
        tf.linalg.matmul(tf.zeros([3, 5]), tf.zeros([5, 7]))
    assert graph_flops(graph) == 2 * 3 * 5 * 7


def test_hours_here_of_a_run_without_evaluations_is_steps_times_the_measured_iteration():
    cost = RowCost(name="row", generator_flops=4e9, critic_flops=6e9, evaluation_flops=1e12,
                   seconds_per_iteration=0.5, machine_flops_per_second=1e11, state_bytes=10,
                   step_bytes=5, evaluation_bytes=7,
                   settings={"ttur": (1000, 1, 0), "orig": (1000, 5, 2)})
    assert cost.utilization == pytest.approx(10e9 / 0.5 / 1e11)
    assert cost.hours_here("ttur") == pytest.approx(1000 * 0.5 / 3600)
    # Five critic updates and two evaluations, at the same utilization on a 100× faster GPU.
    total = 1000 * (4e9 + 5 * 6e9) + 2 * 1e12
    assert cost.gpu_hours("orig", 1e13) == pytest.approx(total / (1e13 * 0.2) / 3600)
    assert cost.memory_bytes == 10 + 7  # the state, and the larger of step and evaluation


def _estimate(tmp_path, graph, rows):
    out = tmp_path / "costs.json"
    code, printed, errors = run_script_in_process(
        "estimate_table1_cost.py", f"--rows={rows}", "--iterations=1",
        f"--inception_path={graph}", f"--out={out}", "--gpu_tflops=20",
        "--gpu_name=a test GPU", *(f"--override={name}={value}" for name, value in TINY.items()),
        "--override=steps=100", "--override=fid_every=50", "--override=jsd_every=25")
    assert code == 0, errors
    record = json.loads(out.read_text())
    return {row["name"]: row for row in record["rows"]}, record, printed


@pytest.mark.heavy  # 19 s; the arithmetic is checked above
def test_the_script_prints_each_rows_estimate_labelled_as_such_and_writes_the_numbers(
        tmp_path, standin_graph_path):
    rows, record, printed = _estimate(tmp_path, standin_graph_path, "lang_1b")
    language = rows["lang_1b"]
    assert record["overrides"]["dim"] == "8"
    # Each setting's steps, critic updates per iteration and evaluations (steps // jsd_every).
    assert language["settings"] == {"ttur": [100, 1, 4], "orig": [100, 10, 4]}
    assert language["critic_flops"] > 0 and language["generator_flops"] > 0
    assert language["seconds_per_iteration"] > 0 and language["state_bytes"] > 0
    # The train step's tensors (batch 4 of 8 one-hot characters, dim 8) are more than its input.
    assert language["step_bytes"] > 4 * 8 * 12 * 4
    assert language["evaluation_bytes"] > 0
    table = [line for line in printed.splitlines() if line.startswith("| lang_1b |")]
    assert len(table) == 2  # both settings
    assert "Estimate for one a test GPU" in printed and "not measured on a GPU" in printed
    assert "| lang_1b | orig | 100 × 10 |" in printed  # its original: 10 critic updates


@pytest.mark.heavy
def test_an_image_rows_evaluations_run_the_inception_graph_on_every_sample(
        tmp_path, standin_graph_path):
    rows, _, printed = _estimate(tmp_path, standin_graph_path, "dcgan_celeba")
    image = rows["dcgan_celeba"]
    assert image["settings"] == {"ttur": [100, 1, 2], "orig": [100, 1, 2]}
    assert image["evaluation_flops"] > 10 * inception_flops(standin_graph_path, 32)
    # An evaluation holds at least the Inception graph's weights.
    assert image["evaluation_bytes"] > standin_graph_path.stat().st_size // 2
    assert "| dcgan_celeba | ttur | 100 × 1 |" in printed


def test_an_override_without_a_value_is_refused_with_the_form_to_use(tmp_path):
    code, _, errors = run_script_in_process("estimate_table1_cost.py", "--rows=lang_1b",
                                            "--override=dim", f"--out={tmp_path / 'x.json'}")
    assert code == 1
    assert "NAME=VALUE" in errors
