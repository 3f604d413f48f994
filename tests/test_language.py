"""The language GAN: its networks, its TTUR train step, and training runs with the JSD evaluator."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from test_training import event_tags
from ttur_tf.data.text import CharMap
from ttur_tf.models import language
from ttur_tf.training import TrainConfig, build_gan, train


def test_the_generator_outputs_a_character_distribution_per_position():
    generator = language.build_generator(seq_len=8, vocab_size=11, dim=16)
    probabilities = generator(np.random.default_rng(0).normal(size=(3, 128)).astype(np.float32))
    assert probabilities.shape == (3, 8, 11)
    np.testing.assert_allclose(np.sum(probabilities, axis=-1), 1.0, rtol=1e-5)
    assert np.all(probabilities.numpy() >= 0)


def test_the_critic_scores_one_hot_and_soft_sequences_alike():
    critic = language.build_discriminator(seq_len=8, vocab_size=11, dim=16)
    one_hot = tf.one_hot(np.random.default_rng(1).integers(0, 11, size=(5, 8)), 11)
    assert critic(one_hot).shape == (5,)
    assert critic(tf.fill((5, 8, 11), 1.0 / 11)).shape == (5,)


def test_both_networks_are_five_residual_blocks_of_two_kernel_5_convs():
    for network in (language.build_generator(8, 11, 16), language.build_discriminator(8, 11, 16)):
        kernels = [layer.kernel.shape for layer in network.layers
                   if isinstance(layer, tf.keras.layers.Conv1D) and layer.kernel.shape[0] == 5]
        assert kernels == [(5, 16, 16)] * 10


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="vocab_size must be ≥ 2"):
        language.build_generator(8, 1, 16)


def test_one_train_step_updates_both_networks_with_their_own_optimizers(tmp_path):
    config = TrainConfig(logdir=str(tmp_path), dataset="unused", model="language", dim=8,
                         seq_len=6, batch_size=4, d_lr=3e-4, g_lr=1e-4, d_beta1=0.5, g_beta1=0.5)
    gan = build_gan(config, vocab_size=7)
    gan.step.assign(1)  # past the original's critic-only first iteration
    # Every weight matrix moves (the critic's output bias has no gradient in a WGAN loss: it
    # cancels between real and fake scores).
    kernels = {net.name: [v for v in net.trainable_variables if "kernel" in v.path]
               for net in (gan.generator, gan.discriminator)}
    before = {name: [v.numpy().copy() for v in variables] for name, variables in kernels.items()}
    real = tf.one_hot(np.random.default_rng(2).integers(0, 7, size=(4, 1, 6)), 7)
    metrics = gan.train_step(real)
    for name, variables in kernels.items():
        assert len(variables) == 12, name  # input layer, 5 × 2 residual convs, output layer
        assert all(not np.array_equal(v.numpy(), w) for v, w in zip(variables, before[name])), name
    assert {"d_loss", "g_loss", "gradient_penalty", "wasserstein"} <= set(metrics)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(3e-4)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(1e-4)
    assert build_gan(config, vocab_size=7).d_optimizer.beta_1 == 0.5


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    """Lines of nine characters with a strong pattern (and a backtick pad at seq_len 10)."""
    rng = np.random.default_rng(0)
    lines = ["".join(rng.choice(["ab", "ba", "cd"], size=4)) + "e" for _ in range(400)]
    path = tmp_path_factory.mktemp("text") / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def language_config(logdir, dataset, **overrides):
    settings = dict(logdir=str(logdir), dataset=dataset, model="language", dim=16, seq_len=10,
                    batch_size=16, steps=4, log_every=1, checkpoint_every=2, jsd_every=2,
                    jsd_ngrams=4, jsd_num_batches=2, d_lr=3e-4, g_lr=1e-4, d_beta1=0.5,
                    g_beta1=0.5, fid_every=1000)  # fid_* settings do not apply to text
    settings.update(overrides)
    return TrainConfig(**settings)


def test_a_run_logs_losses_and_js_and_writes_the_samples_as_text(tmp_path, tiny_corpus):
    config = language_config(tmp_path / "run", tiny_corpus)
    result = train(config)
    tags = event_tags(config.logdir)
    for tag in ("d_loss", "g_loss", "gradient_penalty", "js1", "js2", "js3", "js4", "samples"):
        assert tag in tags, tag
    assert tags["js1"] == [0, 2, 4], "before the first step, as the original, then every 2 steps"
    assert "js5" not in tags and "fid" not in tags
    assert result.step == 4 and len(result.last_js) == 4
    assert all(0.0 <= value <= 1.0 for value in result.last_js)
    samples = (Path(config.logdir) / "samples" / "samples_4.txt").read_text(encoding="utf-8")
    assert len(samples.splitlines()) == 2 * 16
    charmap = CharMap.load(Path(config.logdir) / "charmap.json")
    assert set(charmap.chars) == set("abcde`")
    assert json.loads((Path(config.logdir) / "config.json").read_text())["model"] == "language"


@pytest.mark.slow
def test_a_hundred_and_fifty_steps_halve_js1(tmp_path, tiny_corpus):
    config = language_config(tmp_path / "run", tiny_corpus, steps=150, jsd_every=150,
                             jsd_ngrams=1, d_lr=1e-3, g_lr=3e-4, log_every=50,
                             checkpoint_every=150)
    train(config)
    js1 = {}
    for path in Path(config.logdir).glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag == "js1":
                    js1[event.step] = tf.make_ndarray(value.tensor).item()
    assert js1[150] < 0.5 * js1[0], js1


@pytest.mark.slow
@pytest.mark.heavy  # 16 s; a language run resumes in CI in test_checkpoint_compatibility.py
def test_the_character_map_survives_a_resume_even_if_the_corpus_changed(tmp_path, tiny_corpus):
    logdir = tmp_path / "run"
    train(language_config(logdir, tiny_corpus, steps=2))
    saved = (logdir / "charmap.json").read_bytes()
    changed = tmp_path / "changed.txt"
    changed.write_text("zzzz yyyy xxxx\n" * 50 + Path(tiny_corpus).read_text(), encoding="utf-8")
    result = train(language_config(logdir, str(changed), steps=4))
    assert result.step == 4
    assert (logdir / "charmap.json").read_bytes() == saved
    assert set((logdir / "samples" / "samples_4.txt").read_text()) <= set("abcde`\nunk")


@pytest.mark.slow
def test_checkpoints_without_their_character_map_are_refused(tmp_path, tiny_corpus):
    logdir = tmp_path / "run"
    train(language_config(logdir, tiny_corpus, steps=2))
    (logdir / "charmap.json").unlink()
    with pytest.raises(FileNotFoundError, match="charmap.json is missing"):
        train(language_config(logdir, tiny_corpus, steps=4))


@pytest.mark.slow
def test_characters_outside_the_map_train_as_unk(tmp_path, tiny_corpus):
    config = language_config(tmp_path / "run", tiny_corpus, max_vocab_size=4, steps=2)
    train(config)
    charmap = CharMap.load(Path(config.logdir) / "charmap.json")
    assert charmap.vocab_size == 4  # unk + the three most frequent characters
    first_line = Path(tiny_corpus).read_text().splitlines()[0][:10]
    assert 0 in charmap.encode([first_line])  # the rarer characters of the corpus read unk
