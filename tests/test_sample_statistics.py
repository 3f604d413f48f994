"""The FID of a generator's samples computed over replicas and workers equals one device's."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, TWO_DEVICES, mean_color_features
from fid_worker import INCEPTION_BATCH, NUM_SAMPLES, SAMPLE_BATCH, ElementwiseGenerator, color_features
from test_distribute import free_ports, two_replicas
from test_training import image_npz, tiny_config  # noqa: F401 (fixture)
from ttur_tf.sample_statistics import generated_moments, to_uint8_like_the_original
from ttur_tf.training import train


def one_device_moments():
    return generated_moments(ElementwiseGenerator(), color_features, NUM_SAMPLES, SAMPLE_BATCH,
                             INCEPTION_BATCH, np.random.default_rng(7))


def assert_same_moments(actual_count, actual_mean, actual_covariance, expected):
    assert actual_count == expected.count == NUM_SAMPLES
    np.testing.assert_allclose(actual_mean, expected.mean, rtol=1e-10)
    np.testing.assert_allclose(actual_covariance, expected.covariance, rtol=1e-10)


def test_samples_split_over_two_replicas_give_the_one_device_moments():
    # 37 samples in calls of 10: blocks of 5 rows per replica, and a last call of 7 (4 + 3).
    two = generated_moments(ElementwiseGenerator(), color_features, NUM_SAMPLES, SAMPLE_BATCH,
                            INCEPTION_BATCH, np.random.default_rng(7), two_replicas())
    assert_same_moments(two.count, two.mean, two.covariance, one_device_moments())


def test_a_last_call_with_fewer_samples_than_replicas_leaves_a_replica_idle():
    one = generated_moments(ElementwiseGenerator(), color_features, 21, 10, 4, np.random.default_rng(1))
    two = generated_moments(ElementwiseGenerator(), color_features, 21, 10, 4, np.random.default_rng(1),
                            two_replicas())
    assert two.count == 21
    np.testing.assert_allclose(two.covariance, one.covariance, rtol=1e-10)


def test_fewer_samples_per_call_than_replicas_is_refused():
    with pytest.raises(ValueError, match=r"at least the number of replicas \(2\)"):
        generated_moments(ElementwiseGenerator(), color_features, 10, 1, 1, np.random.default_rng(0),
                          two_replicas())


def test_a_diverged_generator_is_named_not_cast_to_black():
    with pytest.raises(ValueError, match="produced 2 NaN or infinite pixel values"):
        to_uint8_like_the_original(np.array([[0.0, np.nan, np.inf]], np.float32))
    pixels = to_uint8_like_the_original(np.array([-1.0, -0.999, 0.0, 0.999, 1.0, 3.0], np.float32))
    np.testing.assert_array_equal(pixels.numpy(), [0, 0, 127, 254, 255, 255])  # truncation


def test_two_workers_merge_their_moments_exactly(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT), TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "fid_worker.py"), str(tmp_path / f"{index}.npz")],
            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-3000:]
    expected = one_device_moments()
    for index in range(2):  # every worker ends with the moments of all samples
        with np.load(tmp_path / f"{index}.npz") as result:
            count = int(result["count"])
            assert_same_moments(count, result["mean"], result["scatter"] / (count - 1), expected)


@pytest.mark.heavy
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:only|the covariances")
def test_a_mirrored_run_logs_the_fid_of_one_device(tmp_path, image_npz):  # noqa: F811
    settings = dict(model="dcgan", loss="dcgan", steps=2, fid_every=2, fid_num_samples=12,
                    fid_sample_batch_size=6, fid_batch_size=4, checkpoint_every=2)
    one = train(tiny_config(tmp_path / "one", image_npz, **settings), features=mean_color_features)
    two = train(tiny_config(tmp_path / "two", image_npz, strategy="mirrored", devices=TWO_DEVICES,
                            **settings), features=mean_color_features)
    assert two.last_fid == pytest.approx(one.last_fid, rel=1e-5)
