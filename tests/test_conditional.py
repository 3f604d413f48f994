"""Class-conditional GANs: labels from the data, conditional batch norm, the projection
discriminator, per-class sample grids and evaluation that draws labels as the data does."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from conftest import mean_color_features
from test_training import CrashAt, assert_resumed_like_uninterrupted
from ttur_tf.classes import check_classes
from ttur_tf.data import images as image_data
from ttur_tf.gan import stack_critic_batches
from ttur_tf.models.conditional import ConditionalBatchNormalization, projection_logits
from ttur_tf.models.spectral_norm import SpectralNorm
from ttur_tf.training import TrainConfig, build_gan, train

CONDITIONAL_SNGAN = TrainConfig("unused", "unused", model="sngan", conditional=True, dim=4)
# Three classes, each image one flat colour that says its class: 40·(class + 1).
CLASS_COUNTS = {"ants": 6, "bees": 9, "cats": 5}


def class_value(label):
    return 40 * (label + 1)


def pixel_value(images):
    """The first channel's value at pixel (8, 8) of training images in [-1, 1], as 0..255."""
    return np.round((images[:, 8, 8, 0] + 1) * 127.5)


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("classes")
    for label, (name, count) in enumerate(CLASS_COUNTS.items()):
        (root / name).mkdir()
        for index in range(count):
            image = np.full((16, 16, 3), class_value(label), np.uint8)
            image[0, 0] = index  # each image its own
            tf.io.write_file(str(root / name / f"{index:02d}.png"), tf.io.encode_png(image))
    return root


def labelled_stream(data, batch_size, start_image=0, batches=6, rows=None):
    stream = image_data.training_batches(data, batch_size, seed=3, start_image=start_image,
                                         rows=rows)
    images, labels = zip(*((i.numpy(), l.numpy()) for i, l in stream.take(batches)))
    return np.concatenate(images), np.concatenate(labels)


def test_a_folder_of_class_subfolders_gives_each_image_its_folders_class(class_folder):
    data = image_data.load_image_data(str(class_folder), labelled=True)
    assert data.class_names == ("ants", "bees", "cats") and data.num_classes == 3
    np.testing.assert_allclose(data.class_frequencies(), np.array([6, 9, 5]) / 20)
    images, labels = labelled_stream(data, batch_size=4, batches=10)  # two epochs
    assert labels.dtype == np.int32 and set(labels) == {0, 1, 2}
    np.testing.assert_array_equal(pixel_value(images), class_value(labels))


def test_labels_follow_their_images_in_the_unlabelled_order_through_resumes_and_rows(
        class_folder):
    labelled = image_data.load_image_data(str(class_folder), labelled=True)
    unlabelled = image_data.load_image_data(str(class_folder / "bees"))
    images, labels = labelled_stream(labelled, batch_size=4)
    # the same shuffle as unlabelled data: a labelled source changes no run's image order
    plain = image_data.training_batches(
        image_data.ImageData("same files", labelled.elements, labelled.decode, 20, 16, 20),
        4, seed=3)
    np.testing.assert_array_equal(np.concatenate([b.numpy() for b in plain.take(6)]), images)
    resumed_images, resumed_labels = labelled_stream(labelled, 4, start_image=8, batches=4)
    np.testing.assert_array_equal(resumed_images, images[8:])
    np.testing.assert_array_equal(resumed_labels, labels[8:])
    row_images, row_labels = labelled_stream(labelled, 4, rows=slice(1, 3))
    np.testing.assert_array_equal(row_labels, labels.reshape(6, 4)[:, 1:3].ravel())
    np.testing.assert_array_equal(row_images, images.reshape(6, 4, 16, 16, 3)[:, 1:3]
                                  .reshape(-1, 16, 16, 3))
    assert unlabelled.labels is None and unlabelled.num_classes == 0


def test_in_memory_decoding_keeps_the_labels(class_folder):
    data = image_data.load_image_data(str(class_folder), labelled=True)
    images, labels = labelled_stream(image_data.decoded_in_memory(data), 4)
    np.testing.assert_array_equal(pixel_value(images), class_value(labels))


def test_npz_labels_and_tfds_labels_are_read(tmp_path):
    path = tmp_path / "labelled.npz"
    labels = np.array([0, 2, 2, 1, 0, 2], np.int64)
    np.savez(path, images=np.repeat(class_value(labels).astype(np.uint8), 16 * 16 * 3)
             .reshape(6, 16, 16, 3), labels=labels)
    data = image_data.load_image_data(str(path), labelled=True)
    assert data.class_names == ("0", "1", "2")
    images, batch_labels = labelled_stream(data, 3, batches=4)
    np.testing.assert_array_equal(pixel_value(images), class_value(batch_labels))
    with tfds.testing.mock_data(num_examples=8):
        cifar = image_data.load_image_data("cifar10", labelled=True)
    assert cifar.num_classes == 10 and len(cifar.class_names) == 10
    assert cifar.labels.shape == (8,) and cifar.labels.max() < 10


def test_data_without_labels_is_a_clear_error(tmp_path, class_folder):
    with pytest.raises(ValueError, match="one subfolder of images per class"):
        image_data.load_image_data(str(class_folder / "ants"), labelled=True)
    path = tmp_path / "plain.npz"
    np.savez(path, images=np.zeros((4, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="no 'labels' array"):
        image_data.load_image_data(str(path), labelled=True)


def test_stacked_critic_batches_stack_the_labels_with_their_images():
    images = tf.data.Dataset.from_tensor_slices(np.arange(12, dtype=np.float32).reshape(6, 2))
    labels = tf.data.Dataset.from_tensor_slices(np.arange(6, dtype=np.int32))
    stacked = stack_critic_batches(tf.data.Dataset.zip(images, labels).batch(2), n_critic=3)
    batches, batch_labels = next(iter(stacked))
    assert batches.shape == (2, 3, 2) and batch_labels.shape == (2, 3)
    np.testing.assert_array_equal(batch_labels.numpy(), [[0, 2, 4], [1, 3, 5]])
    np.testing.assert_array_equal(batches.numpy()[:, :, 0], 2 * batch_labels.numpy())


def test_conditional_batch_norm_is_batch_norm_then_the_classes_scale_and_offset():
    layer = ConditionalBatchNormalization(3, epsilon=1e-3)
    x = np.random.default_rng(0).normal(2.0, 3.0, (6, 4, 4, 5)).astype(np.float32)
    labels = np.array([0, 1, 2, 2, 1, 0], np.int32)
    plain = layer([x, labels], training=True).numpy()
    mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    normalized = (x - mean) / np.sqrt(variance + 1e-3)
    np.testing.assert_allclose(plain, normalized, atol=1e-4)  # zero embeddings: batch norm
    rng = np.random.default_rng(1)
    layer.gamma_offset.assign(rng.normal(size=(3, 5)))
    layer.beta.assign(rng.normal(size=(3, 5)))
    gamma = 1 + layer.gamma_offset.numpy()[labels][:, None, None]
    beta = layer.beta.numpy()[labels][:, None, None]
    np.testing.assert_allclose(layer([x, labels], training=True).numpy(),
                               normalized * gamma + beta, atol=1e-4)


def test_the_projection_logit_is_psi_of_phi_plus_the_class_vector_times_phi():
    features = keras.Input((4,))
    labels = keras.Input((), dtype="int32")
    model = keras.Model([features, labels], projection_logits(features, labels, 3))
    phi = np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32)
    classes = np.array([2, 0, 1, 1, 2], np.int32)
    dense = model.get_layer("projection_dense")
    embedding = model.get_layer("projection_embedding").embeddings.numpy()
    expected = (phi @ dense.kernel.numpy() + dense.bias.numpy())[:, 0] + np.sum(
        embedding[classes] * phi, axis=1)
    np.testing.assert_allclose(model([phi, classes]).numpy(), expected, rtol=1e-5)


def tiny_conditional(logdir, dataset, **overrides):
    settings = dict(logdir=str(logdir), dataset=str(dataset), model="sngan", conditional=True,
                    image_size=16, dim=4, batch_size=4, steps=2, log_every=1, sample_every=2,
                    checkpoint_every=1, fid_every=0)
    return TrainConfig(**{**settings, **overrides})


def test_the_conditional_sngan_projects_with_a_spectrally_normalized_class_embedding():
    gan = build_gan(CONDITIONAL_SNGAN, image_size=16, num_classes=3)
    wrapped = {layer.name: layer for layer in gan.discriminator.layers
               if isinstance(layer, SpectralNorm)}
    assert isinstance(wrapped["output_embedding_sn"].layer, keras.layers.Embedding)
    conditional_norms = [layer for layer in gan.generator.layers
                         if isinstance(layer, ConditionalBatchNormalization)]
    assert len(conditional_norms) == 6  # two per up-block; the output batch norm is plain
    noise, labels = gan.numpy_inputs(np.random.default_rng(0), 5)
    assert gan.generate((noise, labels)).shape == (5, 16, 16, 3)
    with pytest.raises(ValueError, match="takes \\(noise, labels\\)"):
        gan.generate(noise)


def test_evaluation_draws_labels_with_the_datas_class_frequencies():
    gan = build_gan(CONDITIONAL_SNGAN, image_size=16, num_classes=3,
                    class_frequencies=[0.7, 0.0, 0.3])
    _, labels = gan.numpy_inputs(np.random.default_rng(4), 20_000)
    shares = np.bincount(labels, minlength=3) / labels.size
    np.testing.assert_allclose(shares, [0.7, 0.0, 0.3], atol=0.01)


@pytest.mark.filterwarnings("ignore:only|the covariances")
def test_a_conditional_run_records_its_classes_draws_a_row_per_class_and_scores_fid(
        tmp_path, class_folder):
    config = tiny_conditional(tmp_path / "run", class_folder, fid_every=2, fid_num_samples=12,
                              fid_sample_batch_size=5, fid_batch_size=6)
    result = train(config, features=mean_color_features)
    assert result.step == 2 and np.isfinite(result.last_fid)
    classes = json.loads((tmp_path / "run" / "classes.json").read_text())
    assert classes["class_names"] == ["ants", "bees", "cats"]
    np.testing.assert_allclose(classes["class_frequencies"], [0.3, 0.45, 0.25])
    grid = tf.io.decode_png(tf.io.read_file(str(tmp_path / "run" / "samples" /
                                                "samples_00000002.png"))).numpy()
    assert grid.shape == (3 * 16, 8 * 16, 3)  # a row per class, eight samples each


def test_a_run_records_its_classes_and_accepts_only_them_again(tmp_path, class_folder):
    path = tmp_path / "classes.json"
    data = image_data.load_image_data(str(class_folder), labelled=True)
    check_classes(path, data, write=False)  # a worker that does not write the run's folder
    assert not path.exists()
    check_classes(path, data, write=True)
    check_classes(path, data, write=True)  # the same classes: a resume goes on
    other = tmp_path / "other"
    other.mkdir()
    (other / "ants").symlink_to(class_folder / "ants")
    (other / "bees").symlink_to(class_folder / "bees")
    with pytest.raises(ValueError, match="trained on 3 classes .* has 2 classes"):
        check_classes(path, image_data.load_image_data(str(other), labelled=True), write=True)


def test_conditional_training_needs_a_model_with_conditional_networks(tmp_path, class_folder):
    with pytest.raises(ValueError, match="model=dcgan has no class-conditional networks"):
        tiny_conditional(tmp_path / "run", class_folder, model="dcgan").validate()
    with pytest.raises(ValueError, match="add --conditional"):
        tiny_conditional(tmp_path / "run", class_folder, conditional=False,
                         num_classes=3).validate()


def test_a_stated_number_of_classes_must_be_the_datas(tmp_path, class_folder):
    with pytest.raises(ValueError, match="num_classes=10, but .* has 3 classes"):
        train(tiny_conditional(tmp_path / "run", class_folder, num_classes=10))


@pytest.mark.heavy
def test_a_conditional_run_resumed_after_a_crash_continues_like_an_uninterrupted_run(
        tmp_path, class_folder):
    # Three steps with n_critic 2: the labels of the images the resumed run skips stay skipped.
    settings = dict(steps=3, n_critic=2, checkpoint_every=2)
    uninterrupted = tiny_conditional(tmp_path / "a", class_folder, **settings)
    train(uninterrupted)
    interrupted = tiny_conditional(tmp_path / "b", class_folder, **settings)
    with pytest.raises(KeyboardInterrupt):
        train(interrupted, extra_callbacks=[CrashAt(3)])  # after the checkpoint at step 2
    assert train(interrupted).step == 3
    expected = assert_resumed_like_uninterrupted(uninterrupted, interrupted)
    assert any("/normalize/moving_mean/" in name for name in expected)  # conditional batch norm
