"""Every metric from one pass over the images, through the library and scripts/fid.py."""

import numpy as np
import pytest
from conftest import random_images, run_script_in_process, write_png_folder
from test_scripts import last_line

from ttur_tf.fid import fid_between, load_statistics
from ttur_tf.metrics.image_metrics import collect_features, image_scores, parse_metrics
from ttur_tf.metrics.inception_score import inception_score
from ttur_tf.metrics.kid import kernel_inception_distance
from ttur_tf.metrics.precision_recall import precision_recall

pytestmark = pytest.mark.filterwarnings("ignore:only|the covariances")


class CountingFeatures:
    """The stand-in graph, counting the images it is given."""

    def __init__(self, features):
        self.features, self.images_seen = features, 0

    def __call__(self, batch):
        self.images_seen += len(batch)
        return self.features(batch)

    def features_and_logits(self, batch):
        self.images_seen += len(batch)
        return self.features.features_and_logits(batch)


def batches(images, size=8):
    return (images[start:start + size] for start in range(0, len(images), size))


def test_all_metrics_in_one_pass_read_each_image_once_and_equal_each_alone(standin_features):
    generated, real = random_images(30, 12, 12, seed=1), random_images(25, 12, 12, seed=2)
    counting = CountingFeatures(standin_features)
    together, size = collect_features(batches(generated), counting, "fid,kid,is,pr")
    assert counting.images_seen == 30 and size == (12, 12)
    reference, _ = collect_features(batches(real), standin_features, "fid,kid")
    scores = image_scores("fid,kid,is,pr", together.statistics(), reference.statistics(),
                          together.logits, kid_subset_size=20)

    alone = {}
    for metric in ("fid", "kid", "is", "pr"):
        collector, _ = collect_features(batches(generated), standin_features, metric)
        alone.update(image_scores(metric, collector.statistics(), reference.statistics(),
                                  collector.logits, kid_subset_size=20))
    assert scores == pytest.approx(alone, rel=1e-12)
    features = np.asarray(standin_features(generated))
    real_features = np.asarray(standin_features(real))
    kid = kernel_inception_distance(features, real_features, subset_size=20)
    assert (scores["kid"], scores["kid_std"]) == pytest.approx((kid.mean, kid.std), rel=1e-6)
    _, logits = standin_features.features_and_logits(generated)
    assert scores["inception_score"] == pytest.approx(inception_score(logits.numpy()).mean, rel=1e-6)
    pr = precision_recall(real_features, features)
    assert (scores["precision"], scores["recall"]) == (pr.precision, pr.recall)
    assert set(scores) == {"fid", "kid", "kid_std", "inception_score", "inception_score_std",
                           "precision", "recall"}


def test_identical_sets_score_their_ideal_values(standin_features):
    images = random_images(30, 12, 12, seed=1)
    collector, _ = collect_features(batches(images), standin_features, "fid,pr")
    statistics = collector.statistics()
    scores = image_scores("fid,pr", statistics, statistics)
    assert scores["fid"] == pytest.approx(0.0, abs=1e-6)
    assert (scores["precision"], scores["recall"]) == (1.0, 1.0)


def test_kid_needs_features_on_both_sides(standin_features):
    collector, _ = collect_features(batches(random_images(10, 8, 8)), standin_features, "fid,kid")
    with_features = collector.statistics()
    moments_only = load_like_the_original(with_features)
    with pytest.raises(ValueError, match="precalc_stats.py --features"):
        image_scores("kid", with_features, moments_only)


def load_like_the_original(statistics):
    from dataclasses import replace
    return replace(statistics, features=None)


@pytest.mark.parametrize("metrics", ["", "fid,nope", "kid,,bad"])
def test_unknown_metrics_are_refused(metrics):
    with pytest.raises(ValueError, match="choice of fid,kid,is,pr"):
        parse_metrics(metrics)


def test_the_inception_score_needs_the_graph_not_a_plain_feature_function():
    with pytest.raises(ValueError, match="use InceptionFeatures"):
        collect_features(batches(random_images(4, 8, 8)), lambda batch: np.zeros((len(batch), 3)), "is")


@pytest.mark.slow
def test_fid_script_prints_every_metric_and_fid_last(tmp_path, standin_graph_path):
    generated = write_png_folder(tmp_path / "generated", random_images(24, 16, 16, seed=1))
    real = write_png_folder(tmp_path / "real", random_images(20, 16, 16, seed=2))
    code, out, err = run_script_in_process("fid.py", generated, real, "--metrics=pr,kid,fid,is",
                                           f"--inception_path={standin_graph_path}")
    assert code == 0, err
    lines = out.strip().splitlines()[-5:]  # after the progress bars and the two image counts
    assert [line.split(":")[0] for line in lines] == ["KID", f"IS ({generated})", "precision",
                                                      "recall", "FID"]
    expected, _, _ = fid_between(generated, real, inception_path=standin_graph_path)
    assert float(last_line(out).split()[1]) == pytest.approx(expected, rel=1e-9)


@pytest.mark.slow
def test_stored_features_give_kid_from_a_statistics_file(tmp_path, standin_graph_path):
    generated = write_png_folder(tmp_path / "generated", random_images(24, 16, 16, seed=1))
    real = write_png_folder(tmp_path / "real", random_images(20, 16, 16, seed=2))
    graph = f"--inception_path={standin_graph_path}"
    code, _, err = run_script_in_process("precalc_stats.py", f"--data={real}",
                                         f"--out={tmp_path / 'real.npz'}", "--features", graph)
    assert code == 0, err
    assert load_statistics(tmp_path / "real.npz").features.shape == (20, 2048)
    from_file = run_script_in_process("fid.py", generated, tmp_path / "real.npz", "--metrics=kid", graph)
    from_images = run_script_in_process("fid.py", generated, real, "--metrics=kid", graph)
    assert from_file[0] == from_images[0] == 0
    assert last_line(from_file[1]) == last_line(from_images[1])
    code, _, err = run_script_in_process("precalc_stats.py", f"--data={real}",
                                         f"--out={tmp_path / 'plain.npz'}", graph)
    code, _, err = run_script_in_process("fid.py", generated, tmp_path / "plain.npz", "--metrics=kid", graph)
    assert code == 1 and "precalc_stats.py --features" in err
