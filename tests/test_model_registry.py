"""The model registry: an architecture is one module and its entry; SNGAN is one of them."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, random_images
from ttur_tf.models.registry import ModelEntry, Networks, model_entry, model_names, register
from ttur_tf.models.spectral_norm import SpectralNorm, spectrally_normalized
from ttur_tf.training import TrainConfig, build_gan, train
from ttur_tf.training_flags import config_from_flagfile

_TINY_MLP = "tiny_mlp_from_a_test"


def _tiny_mlp(config, image_size: int) -> Networks:
    pixels = image_size * image_size * 3
    noise = keras.Input((8,))
    images = keras.layers.Reshape((image_size, image_size, 3))(
        keras.layers.Dense(pixels, activation="tanh")(noise))
    inputs = keras.Input((image_size, image_size, 3))
    score = keras.layers.Reshape(())(keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
    return Networks(keras.Model(noise, images), keras.Model(inputs, score), noise_dim=8,
                    noise_distribution="normal", sample_in_training_mode=False)


@pytest.fixture(scope="module")
def tiny_mlp():
    if _TINY_MLP not in model_names():
        register(ModelEntry(
            name=_TINY_MLP, data="images", build=_tiny_mlp, description="a test's MLPs",
            defaults={**model_entry("dcgan").defaults, "dim": 1, "loss": "hinge"}))
    return _TINY_MLP


@pytest.fixture(scope="module")
def images_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "images.npz"
    np.savez(path, images=random_images(40, 16, 16, seed=3))
    return str(path)


def test_a_registered_model_trains_through_train_with_its_own_defaults(tmp_path, tiny_mlp,
                                                                       images_npz):
    config = TrainConfig(logdir=str(tmp_path / "run"), dataset=images_npz, model=tiny_mlp,
                         image_size=16, batch_size=4, steps=2, fid_every=0, log_every=1,
                         sample_every=2, checkpoint_every=2)
    assert config.resolved().loss == "hinge"  # the entry's default
    assert train(config).step == 2


def test_an_unknown_model_is_refused_with_the_registered_names():
    with pytest.raises(ValueError, match="model must be one of .*'sngan'"):
        TrainConfig("run", "data", model="nope").validate()
    listing = "unknown model 'nope': one of resnet, dcgan, language, sngan"
    with pytest.raises(ValueError, match=listing):
        model_entry("nope")


def test_a_model_name_is_registered_once(tiny_mlp):
    with pytest.raises(ValueError, match="already registered"):
        register(model_entry(tiny_mlp))


def test_spectral_norm_wraps_every_kernel_of_a_network_and_nothing_else():
    from ttur_tf.models import wgan_gp_resnet

    network = wgan_gp_resnet.build_discriminator(16, 2)
    kernels = [layer.name for layer in network.layers
               if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]
    normalized = spectrally_normalized(network)
    wrapped = [layer.name for layer in normalized.layers if isinstance(layer, SpectralNorm)]
    assert wrapped == [f"{name}_sn" for name in kernels]
    assert len(normalized.layers) == len(network.layers)
    images = np.zeros((2, 16, 16, 3), np.float32)
    assert normalized(images).shape == network(images).shape


def _sngan_config(logdir, images, steps):
    return config_from_flagfile(
        ROOT / "configs" / "sngan_cifar10.flags", logdir=logdir, dataset=images, image_size=16,
        dim=4, batch_size=4, n_critic=1, fid_every=0, log_every=1, sample_every=2,
        checkpoint_every=1, steps=steps)


def test_sngan_flagfile_trains_spectrally_normalized_and_checkpoints_u(tmp_path, images_npz):
    config = _sngan_config(tmp_path / "sngan", images_npz, steps=1)
    resolved = config.resolved()
    assert (resolved.loss, resolved.spectral_norm, resolved.d_beta1) == ("hinge",
                                                                        "discriminator", 0.0)
    gan = build_gan(resolved, image_size=16)
    kernels = [layer for layer in gan.discriminator.layers
               if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D, SpectralNorm))]
    assert kernels and all(isinstance(layer, SpectralNorm) for layer in kernels)
    assert not any(isinstance(layer, SpectralNorm) for layer in gan.generator.layers)
    assert train(config).step == 1
    reader = tf.train.load_checkpoint(str(tmp_path / "sngan" / "checkpoints"))
    saved_u = [name for name in reader.get_variable_to_shape_map()
               if name.endswith("/u/.ATTRIBUTES/VARIABLE_VALUE")]
    assert len(saved_u) == len(kernels)


@pytest.mark.heavy
def test_an_sngan_run_resumes_with_its_u(tmp_path, images_npz):
    assert train(_sngan_config(tmp_path / "sngan", images_npz, steps=1)).step == 1
    assert train(_sngan_config(tmp_path / "sngan", images_npz, steps=2)).step == 2


def test_sampling_writes_nothing_even_in_training_mode():
    # The ResNet generator samples with batch statistics; spectrally normalized, its u must not
    # move either (samples and metrics use the stored u).
    config = TrainConfig("run", "data", model="resnet", dim=2, spectral_norm="both")
    gan = build_gan(config, image_size=16)
    assert gan.sample_in_training_mode
    before = [variable.numpy() for variable in gan.generator.non_trainable_variables]
    assert any("/u" in variable.path for variable in gan.generator.non_trainable_variables)
    gan.generate(gan.numpy_noise(np.random.default_rng(0), 4))
    for value, variable in zip(before, gan.generator.non_trainable_variables):
        np.testing.assert_array_equal(variable.numpy(), value, err_msg=variable.path)
