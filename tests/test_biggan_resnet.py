"""SAGAN's and BigGAN's ResNets: their layouts, attention placement and flagfiles."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT
from ttur_tf.models import biggan_resnet
from ttur_tf.models.conditional import ConditionalBatchNormalization
from ttur_tf.models.self_attention import SelfAttention
from ttur_tf.models.spectral_norm import SpectralNorm
from ttur_tf.training import build_gan, train
from ttur_tf.training_flags import config_from_flagfile

from test_conditional import class_folder  # noqa: F401


@pytest.mark.parametrize("size, generator_rows, discriminator_rows", [
    (32, [8, 16, 32], [16, 8, 8, 8]),
    (64, [8, 16, 32, 64], [32, 16, 8, 4, 4]),
    (128, [8, 16, 32, 64, 128], [64, 32, 16, 8, 4, 4]),
])
def test_each_size_has_the_published_block_layout(size, generator_rows, discriminator_rows):
    assert biggan_resnet.generator_resolutions(size) == generator_rows
    assert biggan_resnet.discriminator_resolutions(size) == discriminator_rows
    generator = biggan_resnet.build_generator(size, dim=1)
    discriminator = biggan_resnet.build_discriminator(size, dim=1)
    assert generator.output_shape == (None, size, size, 3)
    assert discriminator.output_shape == (None,)
    widths = [generator.get_layer(f"block{k + 1}_conv2").filters
              for k in range(len(generator_rows))]
    assert widths == [out for _, out in biggan_resnet._GENERATOR_WIDTHS[size]]


def test_attention_follows_the_block_of_its_resolution_in_both_networks():
    generator = biggan_resnet.build_generator(64, dim=1, attention_resolution=32)
    discriminator = biggan_resnet.build_discriminator(64, dim=1, attention_resolution=32)
    for network, block in ((generator, "block3_add"), (discriminator, "block1_add")):
        attention = [layer for layer in network.layers if isinstance(layer, SelfAttention)]
        assert [layer.name for layer in attention] == ["attention32"]
        assert attention[0].input.shape[1] == 32
        assert attention[0]._inbound_nodes[0].parent_nodes[0].operation.name == block
    with pytest.raises(ValueError, match="generator's blocks have \\[8, 16, 32\\] rows"):
        biggan_resnet.build_generator(32, dim=1, attention_resolution=4)
    with pytest.raises(ValueError, match="32×32, 64×64 and 128×128"):
        biggan_resnet.build_generator(48, dim=1)


def test_every_kernel_draws_its_own_initial_values():
    keras.utils.set_random_seed(0)
    generator = biggan_resnet.build_generator(
        32, dim=1, num_classes=3, initializer=keras.initializers.RandomNormal(stddev=0.02))
    conv2 = [generator.get_layer(f"block{k}_conv2").kernel.numpy() for k in (1, 2, 3)]
    assert not np.allclose(conv2[0], conv2[1]) and not np.allclose(conv2[1], conv2[2])
    assert abs(np.std(conv2[0]) - 0.02) < 0.003
    norms = [layer for layer in generator.layers
             if isinstance(layer, ConditionalBatchNormalization)]
    assert not np.allclose(norms[0].gamma_offset.numpy(), norms[0].beta.numpy())


def _tiny(flagfile, logdir, dataset, **overrides):
    return config_from_flagfile(
        ROOT / "configs" / flagfile, logdir=logdir, dataset=str(dataset), image_size=32, dim=1,
        batch_size=4, n_critic=1, fid_every=0, log_every=1, sample_every=1, checkpoint_every=1,
        steps=1, **overrides)


@pytest.mark.heavy  # 9 s; CI builds and steps it below
@pytest.mark.filterwarnings("ignore:only|the covariances")
def test_the_biggan_flagfile_trains_conditionally_with_its_average(
        tmp_path, class_folder):  # noqa: F811
    config = _tiny("biggan_cifar10.flags", tmp_path / "biggan", class_folder, ema_start_step=0)
    resolved = config.resolved()
    assert (resolved.model, resolved.conditional, resolved.spectral_norm,
            resolved.ema_decay, resolved.g_beta2) == ("biggan", True, "both", 0.9999, 0.999)
    assert train(config).step == 1
    reader = tf.train.load_checkpoint(str(tmp_path / "biggan" / "checkpoints"))
    assert any(name.startswith("generator_average/") for name in reader.get_variable_to_shape_map())


@pytest.mark.parametrize("flagfile, settings, attention_blocks", [
    ("sagan_ttur_cifar10.flags", {}, 1),
    ("sagan_128_folder.flags", dict(attention_resolution=16), 1),  # 32×32 here: attention at 16
    ("biggan_cifar10.flags", {}, 0),
])
def test_the_later_flagfiles_build_spectrally_normalized_networks_that_train(
        tmp_path, flagfile, settings, attention_blocks):
    config = _tiny(flagfile, tmp_path / "run", "unused", **settings).resolved()
    assert config.loss == "hinge" and config.conditional
    if flagfile.startswith("sagan"):
        assert (config.d_lr, config.g_lr, config.d_beta2) == (4e-4, 1e-4, 0.9)
    gan = build_gan(config, image_size=32, num_classes=3)
    for network in (gan.generator, gan.discriminator):
        attention = [layer for layer in network.layers if isinstance(layer, SelfAttention)]
        assert len(attention) == attention_blocks and all(a.spectral_norm for a in attention)
        assert any(isinstance(layer, SpectralNorm) for layer in network.layers)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (4, 1, 32, 32, 3)).astype(np.float32)
    labels = rng.integers(0, 3, (4, 1)).astype(np.int32)
    logs = gan.train_step((tf.constant(images), tf.constant(labels)))
    assert np.isfinite(float(logs["d_loss"])) and int(gan.step.numpy()) == 1
