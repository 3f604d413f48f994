"""The frozen graph: parity with the original's pipeline, input handling, lookup and download."""

import io
import os
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from ttur_tf.fid import InceptionFeatures, InceptionGraphError, locate_graph
from ttur_tf.fid import inception
from ttur_tf.fid.standin import write_standin_graph


def features_one_image_at_a_time_in_a_session(graph_path, images):
    """The original's pipeline: the unmodified graph in a TF1 session, fed batch size 1."""
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(graph_path.read_bytes())
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        tf.compat.v1.import_graph_def(graph_def, name="FID_Inception_Net")
        return np.concatenate(
            [
                session.run("FID_Inception_Net/pool_3:0", {"FID_Inception_Net/ExpandDims:0": image[None]})
                for image in images.astype(np.float32)
            ]
        ).reshape(len(images), -1)


def logits_one_image_at_a_time_in_a_session(graph_path, images):
    """The Inception Score reference's logits: the unmodified graph fed batch size 1, pool_3
    multiplied by the second input of softmax/logits/MatMul (no bias)."""
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(graph_path.read_bytes())
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        tf.compat.v1.import_graph_def(graph_def, name="net")
        weights = session.graph.get_operation_by_name("net/softmax/logits/MatMul").inputs[1]
        logits = tf.matmul(tf.reshape(session.graph.get_tensor_by_name("net/pool_3:0"), [1, 2048]), weights)
        return np.concatenate([session.run(logits, {"net/ExpandDims:0": image[None]})
                               for image in images.astype(np.float32)])


def pixels(count, height, width, channels=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (count, height, width, channels)).astype(np.float32)


@pytest.mark.parametrize("height, width", [(32, 32), (64, 48), (299, 299), (7, 500)])
def test_batched_features_equal_the_original_one_image_at_a_time(standin_features, standin_graph_path, height, width):
    images = pixels(5, height, width)
    reference = features_one_image_at_a_time_in_a_session(standin_graph_path, images)
    batched = standin_features(images).numpy()
    assert batched.shape == (5, 2048)
    np.testing.assert_allclose(batched, reference, rtol=1e-5, atol=1e-5 * np.abs(reference).max())


def test_the_standin_graph_has_the_originals_batch_size_one_quirk(standin_graph_path):
    with pytest.raises(ValueError, match=r"\(1, \?, \?, 3\)|\(1, None, None, 3\)"):
        graph_def = tf.compat.v1.GraphDef()
        graph_def.ParseFromString(standin_graph_path.read_bytes())
        with tf.compat.v1.Session(graph=tf.Graph()) as session:
            tf.compat.v1.import_graph_def(graph_def, name="net")
            session.run("net/pool_3:0", {"net/ExpandDims:0": pixels(2, 8, 8)})


def test_the_imported_resize_keeps_the_legacy_tf1_semantics(standin_features):
    resizes = [op for op in standin_features.graph.get_operations() if op.type == "ResizeBilinear"]
    assert len(resizes) == 1
    assert resizes[0].get_attr("align_corners") is False
    assert resizes[0].get_attr("half_pixel_centers") is False


def test_features_work_eagerly_and_inside_tf_function(standin_features):
    images = pixels(3, 20, 20)
    traced = tf.function(lambda batch: standin_features(batch))
    np.testing.assert_allclose(traced(tf.constant(images)).numpy(), standin_features(images).numpy(), rtol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="≤ 255"):
        traced(tf.constant(images + 300.0))


def test_repeated_runs_are_identical(standin_features):
    images = pixels(4, 32, 32)
    np.testing.assert_array_equal(standin_features(images).numpy(), standin_features(images).numpy())


def test_uint8_grayscale_and_rgba_inputs_are_accepted(standin_features):
    rgb = np.round(pixels(2, 16, 16)).astype(np.uint8)
    expected = standin_features(rgb.astype(np.float32)).numpy()
    np.testing.assert_allclose(standin_features(rgb).numpy(), expected, rtol=1e-6)
    alpha = np.full((2, 16, 16, 1), 7, np.uint8)
    np.testing.assert_allclose(standin_features(np.concatenate([rgb, alpha], -1)).numpy(), expected, rtol=1e-6)
    gray = rgb[..., :1]
    np.testing.assert_allclose(
        standin_features(gray).numpy(), standin_features(np.repeat(gray, 3, -1)).numpy(), rtol=1e-6
    )


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((16, 16, 3)), r"\(N, H, W, C\)"),
        (np.zeros((2, 3, 16, 16)), "channels"),
        (np.zeros((2, 16, 16, 5)), "channels"),
        (np.full((2, 8, 8, 3), -1.0), "0..255"),
        (np.full((2, 8, 8, 3), 256.0), "0..255"),
        (np.array([[[["a", "b", "c"]]]]), "numeric"),
        (np.where(np.eye(8)[None, :, :, None], np.nan, 10.0) * np.ones((2, 8, 8, 3)),
         "48 NaN or infinite pixel values"),
        (np.full((1, 8, 8, 3), np.inf), "NaN or infinite"),
    ],
)
def test_bad_images_are_clear_errors(standin_features, images, message):
    with pytest.raises(ValueError, match=message):
        standin_features(images)


def test_nan_pixels_are_refused_inside_tf_function_too(standin_features):
    images = tf.constant(np.full((1, 8, 8, 3), np.nan, np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="pixel values must be finite"):
        tf.function(standin_features)(images)


def test_images_in_zero_one_range_warn(standin_features):
    with pytest.warns(UserWarning, match="0..255"):
        standin_features(np.full((1, 8, 8, 3), 0.5, np.float32))


def test_lookup_order_explicit_then_env_then_cache(tmp_path, monkeypatch, standin_graph_path):
    explicit = write_standin_graph(tmp_path / "explicit")
    env_dir, cache_dir = tmp_path / "env", tmp_path / "cache" / "ttur_tf"
    write_standin_graph(env_dir)
    write_standin_graph(cache_dir)
    monkeypatch.setattr(inception, "_SOURCE_CHECKOUT_DIR", tmp_path / "no_checkout")
    assert locate_graph(explicit) == explicit
    assert locate_graph(explicit.parent) == explicit
    monkeypatch.setenv("TTUR_INCEPTION_DIR", str(env_dir))
    assert locate_graph() == env_dir / "classify_image_graph_def.pb"
    monkeypatch.delenv("TTUR_INCEPTION_DIR")
    assert locate_graph() == cache_dir / "classify_image_graph_def.pb"


def test_a_missing_graph_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(inception, "_SOURCE_CHECKOUT_DIR", tmp_path / "no_checkout")
    with pytest.raises(FileNotFoundError, match="missing.pb does not exist"):
        locate_graph(tmp_path / "missing.pb")
    with pytest.raises(InceptionGraphError, match="--inception_path"):
        locate_graph(download=False)


def make_tgz(path, members):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_download_extracts_only_the_graph_and_validates_it(tmp_path, standin_graph_path):
    tgz = make_tgz(
        tmp_path / "inception.tgz",
        {"classify_image_graph_def.pb": standin_graph_path.read_bytes(), "LICENSE": b"license"},
    )
    dest = tmp_path / "dest"
    path = inception.download_graph(dest, url=tgz.as_uri(), expected_size=tgz.stat().st_size)
    assert path == dest / "classify_image_graph_def.pb"
    assert path.read_bytes() == standin_graph_path.read_bytes()
    assert sorted(os.listdir(dest)) == ["classify_image_graph_def.pb"]


def test_a_truncated_download_is_rejected_and_leaves_nothing(tmp_path, standin_graph_path):
    tgz = make_tgz(tmp_path / "inception.tgz", {"classify_image_graph_def.pb": standin_graph_path.read_bytes()})
    dest = tmp_path / "dest"
    with pytest.raises(InceptionGraphError, match="88,931,400"):
        inception.download_graph(dest, url=tgz.as_uri())
    assert os.listdir(dest) == []


def test_an_archive_without_the_graph_is_rejected(tmp_path):
    tgz = make_tgz(tmp_path / "inception.tgz", {"../classify_image_graph_def.pb": b"evil"})
    with pytest.raises(InceptionGraphError, match="holds no regular file"):
        inception.download_graph(tmp_path / "dest", url=tgz.as_uri(), expected_size=None)
    assert not (tmp_path / "classify_image_graph_def.pb").exists()


def test_offline_download_failure_says_what_to_do(tmp_path):
    with pytest.raises(InceptionGraphError, match="Could not download.*extract classify_image_graph_def.pb"):
        inception.download_graph(tmp_path, url=(tmp_path / "nowhere.tgz").as_uri())


def test_corrupt_and_wrong_graphs_are_clear_errors(tmp_path):
    garbage = tmp_path / "garbage.pb"
    garbage.write_bytes(b"\x00\xffnot a graph" * 10)
    with pytest.raises(InceptionGraphError, match="garbage.pb"):
        InceptionFeatures(garbage)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.placeholder(tf.float32, [1, None, None, 3], name="ExpandDims")
    no_pool = tmp_path / "no_pool.pb"
    no_pool.write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(InceptionGraphError, match="no node pool_3"):
        InceptionFeatures(no_pool)
    with graph.as_default():
        x = tf.compat.v1.image.resize_bilinear(graph.get_tensor_by_name("ExpandDims:0"), [8, 8])
        tf.nn.avg_pool2d(tf.concat([x] * 10, axis=-1), 8, 1, "VALID", name="pool_3")
    thin = tmp_path / "thin.pb"
    thin.write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(InceptionGraphError, match="30 channels, not 2048"):
        InceptionFeatures(thin)


def test_a_graph_that_imports_but_cannot_run_fails_at_load_with_the_file_named(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, [1, None, None, 3], name="ExpandDims")
        extra = tf.compat.v1.placeholder(tf.float32, [1, 8, 8, 2045], name="never_fed")
        resized = tf.compat.v1.image.resize_bilinear(images, [8, 8])
        tf.nn.avg_pool2d(tf.concat([resized, extra], axis=-1), 8, 1, "VALID", name="pool_3")
    broken = tmp_path / "unrunnable.pb"
    broken.write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(InceptionGraphError, match="unrunnable.pb cannot be run"):
        InceptionFeatures(broken)


def test_batched_class_logits_equal_the_inception_score_reference_one_image_at_a_time(standin_features, standin_graph_path):
    images = pixels(4, 40, 40)
    features, logits = standin_features.features_and_logits(images)
    reference = logits_one_image_at_a_time_in_a_session(standin_graph_path, images)
    assert standin_features.num_classes == 1008 and logits.shape == (4, 1008)
    np.testing.assert_allclose(logits.numpy(), reference, rtol=1e-4, atol=1e-5 * np.abs(reference).max())
    np.testing.assert_array_equal(features.numpy(), standin_features(images).numpy())


def test_a_graph_without_a_classifier_cannot_give_logits(tmp_path, standin_graph_path):
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(standin_graph_path.read_bytes())
    kept = [node for node in graph_def.node if not node.name.startswith("softmax")]
    del graph_def.node[:]
    graph_def.node.extend(kept)
    path = tmp_path / "classify_image_graph_def.pb"
    path.write_bytes(graph_def.SerializeToString())
    features = InceptionFeatures(path, download=False)
    assert features.num_classes is None
    with pytest.raises(InceptionGraphError, match="has no classifier"):
        features.features_and_logits(pixels(1, 8, 8))
