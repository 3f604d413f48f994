"""One schema per setting: limits, help and defaults stated once, flags and validation derived."""

import dataclasses
import json
from pathlib import Path

import pytest
from absl import flags

from ttur_tf.config import (
    MODELS, TrainConfig, model_defaults, settings_that_changed, setting_types,
)
from ttur_tf.training_flags import config_from_flags, define_training_flags


def parsed(*args, **defaults):
    flag_values = flags.FlagValues()
    define_training_flags(flag_values, **defaults)
    flag_values(["train", "--logdir=run", "--dataset=data", *args])
    return config_from_flags(flag_values)


@pytest.mark.parametrize("name, value", [
    ("d_lr", "0"), ("g_lr", "-1e-4"), ("lr", "0"), ("n_critic", "0"), ("d_beta1", "1.0"),
    ("g_beta2", "1.5"), ("gp_weight", "-1"), ("fid_every", "-1"), ("fid_num_samples", "1"),
    ("max_vocab_size", "1"), ("image_size", "8"), ("batch_size", "0"),
])
def test_flags_and_validation_refuse_the_same_values_with_the_same_message(name, value):
    with pytest.raises(flags.IllegalFlagValueError) as refused_by_flags:
        parsed(f"--{name}={value}")
    typed = setting_types()[name](float(value))
    with pytest.raises(ValueError) as refused_by_config:
        TrainConfig("run", "data", **{name: typed}).validate()
    assert str(refused_by_config.value) in str(refused_by_flags.value)
    assert str(refused_by_config.value).startswith(f"{name} must be ")


def test_the_gan_refuses_what_the_schema_refuses():
    from ttur_tf.gan import GAN
    from ttur_tf.models import wgan_gp_resnet

    with pytest.raises(ValueError, match="n_critic must be ≥ 1, got 0"):
        GAN(wgan_gp_resnet.build_generator(16, 2), wgan_gp_resnet.build_discriminator(16, 2),
            noise_dim=128, n_critic=0)


def test_every_per_model_setting_has_a_default_for_every_model():
    per_model = {field.name for field in dataclasses.fields(TrainConfig)
                 if TrainConfig.setting(field.name).per_model}
    assert {"d_lr", "g_lr", "d_beta1", "loss", "dim"} <= per_model
    for model in MODELS:
        assert set(model_defaults(model)) == per_model, model
        for name, value in model_defaults(model).items():
            TrainConfig.setting(name).check(name, value)


@pytest.mark.parametrize("model, expected", [
    ("resnet", dict(d_beta1=0.0, d_beta2=0.9, dim=64, loss="wgan-gp", d_lr=3e-4, g_lr=1e-4)),
    ("language", dict(d_beta1=0.5, g_beta1=0.5, d_beta2=0.9, dim=512, loss="wgan-gp")),
    ("dcgan", dict(d_beta1=0.5, g_beta2=0.999, loss="dcgan", d_lr=2e-4, fid_every=5000)),
])
def test_defaults_that_depend_on_the_model_come_from_the_model(model, expected):
    resolved = TrainConfig("run", "data", model=model).resolved()
    assert {name: getattr(resolved, name) for name in expected} == expected
    from_flags = parsed(f"--model={model}").resolved()
    assert from_flags == resolved


def test_the_dcgan_script_changes_only_the_model_and_the_rest_follows_it():
    assert parsed(model="dcgan").resolved() == TrainConfig("run", "data", model="dcgan").resolved()


def test_given_values_win_over_the_models():
    resolved = TrainConfig("run", "data", model="language", d_beta1=0.0, dim=8).resolved()
    assert resolved.d_beta1 == 0.0 and resolved.dim == 8 and resolved.g_beta1 == 0.5


def test_one_learning_rate_sets_both_and_conflicts_are_refused():
    resolved = TrainConfig("run", "data", lr=1e-4).resolved()
    assert resolved.d_lr == resolved.g_lr == 1e-4
    assert resolved.resolved() == resolved
    with pytest.raises(ValueError, match="give lr .* or d_lr and g_lr, not both"):
        TrainConfig("run", "data", lr=1e-4, d_lr=3e-4).resolved()


def test_the_help_states_the_limits_and_the_per_model_defaults():
    flag_values = flags.FlagValues()
    define_training_flags(flag_values)
    assert "Must be > 0" in flag_values["d_lr"].help
    assert "resnet 0, dcgan 0.5, language 0.5" in flag_values["d_beta1"].help
    assert "Must be in [0, 1)" in flag_values["d_beta1"].help


def test_a_text_encoding_is_checked_when_the_run_is_configured():
    with pytest.raises(ValueError, match="unknown text encoding 'klingon'"):
        TrainConfig("run", "data", model="language", encoding="klingon").validate()
    with pytest.raises(ValueError, match="utf-16 are not supported"):
        TrainConfig("run", "data", model="language", encoding="utf-16").validate()


def test_the_original_critic_head_belongs_to_the_resnet_critic():
    with pytest.raises(ValueError, match="critic_head=original is a head of the ResNet critic"):
        TrainConfig("run", "data", model="dcgan", critic_head="original").validate()


def test_changed_settings_are_listed_against_a_saved_config(tmp_path):
    saved = tmp_path / "config.json"
    saved.write_text(TrainConfig("run", "data", dim=64).to_json())
    assert json.loads(saved.read_text())["d_beta1"] == 0.0  # resolved values are saved
    changed = settings_that_changed(saved, TrainConfig("run", "data", dim=32, steps=5))
    assert changed == {"dim": (64, 32), "steps": (100_000, 5)}
    assert TrainConfig.setting("dim").shapes_networks
    assert not TrainConfig.setting("steps").shapes_networks


def test_every_setting_has_a_sentence_of_help():
    for field in dataclasses.fields(TrainConfig):
        assert TrainConfig.setting(field.name).help.endswith("."), field.name


def test_flagfiles_record_only_known_settings():
    configs = Path(__file__).resolve().parents[1] / "configs"
    names = {field.name for field in dataclasses.fields(TrainConfig)} | {"flagfile"}
    for flagfile in configs.glob("*.flags"):
        for line in flagfile.read_text().splitlines():
            if line.startswith("--"):
                assert line[2:].split("=")[0] in names, (flagfile.name, line)
