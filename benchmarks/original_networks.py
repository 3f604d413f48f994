"""The original TF1 networks and train ops, built from their own source under ``tf.compat.v1``.

The 2017 code is not part of this project. ``TTUR_ORIGINAL_DIR`` points at a clone of
https://github.com/bioinf-jku/TTUR; from it this module takes, unchanged:

* ``WGAN_GP/gan_64x64_FID.py``: ``GoodGenerator``/``GoodDiscriminator`` and their blocks (the
  WGAN-GP ResNets at 64×64, and at 32×32 with ``DIM = 32`` for CIFAR-10);
* ``WGAN_GP/gan_language_JSD.py``: ``Generator``/``Discriminator`` (the 1D-conv ResNets);
* ``WGAN_GP/tflib/ops/*.py``: the layers those use;
* ``DCGAN_FID_batched/model.py`` and ``ops.py``: carpedm20's ``DCGAN`` class as TTUR ran it.

Only the top-level function and class definitions of the scripts are executed (their settings,
data loading and training loops are not); the module constants those definitions read (``DIM``,
``MODE``, ...) are given the values of the script's TTUR setting. The scripts' cost and optimizer
lines are re-stated in ``_wgan_gp_train_ops`` (the critic loss with the gradient penalty on
random interpolates, Adam per network with the script's betas, ``var_list`` by name prefix).

TensorFlow 2 lacks three things the 2017 code calls; this module provides them:
``import tensorflow as tf`` gives ``tf.compat.v1`` while the originals are imported;
``tflib``'s parameter registry (``lib.param``, ``lib.params_with_name``: get-or-create a
``tf.Variable`` by name; the package's ``__init__`` is Python 2 in its upstream); and
``tf.contrib.layers.batch_norm`` as carpedm20's ops call it (fused, in-place moving averages).

Each ``build_*`` returns an ``OriginalModel``: a session with initialised variables and
``iteration()``, which runs one training iteration as the script's loop does (a generator
update, then a critic update fed with a batch), on fixed random batches held in memory.
"""

import ast
import contextlib
import dataclasses
import functools
import importlib
import math
import os
import sys
import tempfile
import types
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1

ENVIRONMENT_VARIABLE = "TTUR_ORIGINAL_DIR"
HOW_TO_GET = ("clone https://github.com/bioinf-jku/TTUR and set TTUR_ORIGINAL_DIR to the clone "
              "(the original code is not part of this project)")


def original_checkout() -> Path | None:
    """The TTUR clone ``TTUR_ORIGINAL_DIR`` names, or None if unset or not a clone."""
    checkout = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if checkout and (Path(checkout) / "WGAN_GP" / "gan_64x64_FID.py").is_file():
        return Path(checkout)
    return None


@dataclasses.dataclass
class OriginalModel:
    """One original network pair in its own graph and session, ready to train."""

    session: tf1.Session
    iteration: Callable[[], None]


class _ParameterRegistry(types.ModuleType):
    """``tflib`` itself: ``param(name, value, **kwargs)`` returns the variable of that name,
    creating it on first use; ``params_with_name(part)`` lists those whose name contains it."""

    def __init__(self, package_dir: Path):
        super().__init__("tflib")
        self.__path__ = [str(package_dir)]
        self._variables: dict[str, tf1.Variable] = {}

    def param(self, name, *args, **kwargs):
        if name not in self._variables:
            self._variables[name] = tf1.Variable(*args, name=name, **kwargs)
        return self._variables[name]

    def params_with_name(self, part):
        return [variable for name, variable in self._variables.items() if part in name]


def _contrib_batch_norm(inputs, decay=0.999, updates_collections=None, epsilon=0.001, scale=False,
                        is_training=True, scope=None):
    """``tf.contrib.layers.batch_norm`` for NHWC images with ``updates_collections=None``, as
    carpedm20's ops call it: the fused kernel, moving averages updated before the output."""
    if inputs.shape.rank != 4 or updates_collections is not None:
        raise ValueError("this stand-in for tf.contrib.layers.batch_norm serves the one use "
                         "carpedm20's ops make of it: NHWC images, updates_collections=None")
    channels = inputs.shape[-1]
    with tf1.variable_scope(scope, "BatchNorm"):
        beta = tf1.get_variable("beta", [channels], initializer=tf1.zeros_initializer())
        gamma = tf1.get_variable("gamma", [channels], initializer=tf1.ones_initializer(),
                                 trainable=scale)
        moving_mean = tf1.get_variable("moving_mean", [channels], trainable=False,
                                       initializer=tf1.zeros_initializer())
        moving_variance = tf1.get_variable("moving_variance", [channels], trainable=False,
                                           initializer=tf1.ones_initializer())
        if not is_training:
            outputs, _, _ = tf1.nn.fused_batch_norm(inputs, gamma, beta, moving_mean,
                                                    moving_variance, epsilon, is_training=False)
            return outputs
        outputs, mean, variance = tf1.nn.fused_batch_norm(inputs, gamma, beta, epsilon=epsilon)
        updates = [tf1.assign_sub(moving_mean, (1 - decay) * (moving_mean - mean)),
                   tf1.assign_sub(moving_variance, (1 - decay) * (moving_variance - variance))]
        with tf1.control_dependencies(updates):
            return tf1.identity(outputs)


def _conv2d_transpose(value, filter, output_shape, *args, **kwargs):  # noqa: A002 (TF1's name)
    """``tf.nn.conv2d_transpose`` whose result has ``output_shape`` as its static shape, as TF1's
    had (TF2 infers an unknown batch from a ``[None, ...]`` input, which carpedm20's reshape
    to ``deconv.get_shape()`` cannot take)."""
    result = tf1.nn.conv2d_transpose(value, filter, output_shape, *args, **kwargs)
    if all(isinstance(size, int) for size in output_shape):
        result.set_shape(output_shape)
    return result


class _Namespace(types.ModuleType):
    """A module whose attributes are those of ``base`` except the ``overrides``."""

    def __init__(self, name, base, **overrides):
        super().__init__(name)
        self._base = base
        self.__dict__.update(overrides)

    def __getattr__(self, name):
        return getattr(self._base, name)


_TF1 = _Namespace(  # what ``import tensorflow as tf`` gives the 2017 code
    "tensorflow", tf1, contrib=types.SimpleNamespace(
        layers=types.SimpleNamespace(batch_norm=_contrib_batch_norm)),
    nn=_Namespace("tensorflow.nn", tf1.nn, conv2d_transpose=_conv2d_transpose))


@contextlib.contextmanager
def _importing_as_tf1(tflib_dir: Path):
    """Within: ``import tensorflow`` gives ``_TF1`` and ``import tflib`` a fresh registry."""
    saved = {name: module for name, module in sys.modules.items()
             if name == "tensorflow" or name == "tflib" or name.startswith("tflib.")}
    for name in saved:
        del sys.modules[name]
    sys.modules["tensorflow"] = _TF1
    registry = _ParameterRegistry(tflib_dir)
    sys.modules["tflib"] = registry
    try:
        yield registry
    finally:
        for name in [n for n in sys.modules if n == "tflib" or n.startswith("tflib.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def _definitions(script: Path, namespace: dict, statements=(ast.FunctionDef, ast.ClassDef)):
    """Executes the top-level ``statements`` of ``script`` (by default its function and class
    definitions) in ``namespace`` and returns it."""
    tree = ast.parse(script.read_text(), str(script))
    tree.body = [node for node in tree.body if isinstance(node, statements)]
    exec(compile(tree, str(script), "exec"), namespace)
    return namespace


def _with_tflib_layers(registry: _ParameterRegistry) -> _ParameterRegistry:
    """``registry`` after importing the ``tflib.ops`` layers the scripts call (``lib.ops.*``)."""
    for name in ("linear", "conv1d", "conv2d", "deconv2d", "batchnorm", "layernorm"):
        importlib.import_module(f"tflib.ops.{name}")
    return registry


@contextlib.contextmanager
def _wgan_gp_graph(checkout: Path, seed: int):
    """Within: a new graph as the default, seeded, in which the WGAN_GP scripts' imports work;
    yields the graph and ``tflib`` (``lib``) with its layers."""
    graph = tf.Graph()
    with graph.as_default(), _importing_as_tf1(checkout / "WGAN_GP" / "tflib") as registry:
        tf1.set_random_seed(seed)
        yield graph, _with_tflib_layers(registry)


def _wgan_gp_train_ops(lib, generator, discriminator, real, noise_batch, d_lr, g_lr, d_beta1,
                       g_beta1, interpolation_shape):
    """The scripts' ``wgan-gp`` costs and Adam updates (beta2 0.9, LAMBDA 10)."""
    fake = generator(noise_batch)
    disc_real, disc_fake = discriminator(real), discriminator(fake)
    gen_cost = -tf1.reduce_mean(disc_fake)
    disc_cost = tf1.reduce_mean(disc_fake) - tf1.reduce_mean(disc_real)
    alpha = tf1.random_uniform(interpolation_shape, 0.0, 1.0)
    interpolates = real + alpha * (fake - real)
    gradients = tf1.gradients(discriminator(interpolates), [interpolates])[0]
    slopes = tf1.sqrt(tf1.reduce_sum(tf1.square(gradients),
                                     axis=list(range(1, gradients.shape.rank))))
    disc_cost += 10 * tf1.reduce_mean((slopes - 1.0) ** 2)
    gen_train = tf1.train.AdamOptimizer(g_lr, beta1=g_beta1, beta2=0.9).minimize(
        gen_cost, var_list=lib.params_with_name("Generator"), colocate_gradients_with_ops=True)
    disc_train = tf1.train.AdamOptimizer(d_lr, beta1=d_beta1, beta2=0.9).minimize(
        disc_cost, var_list=lib.params_with_name("Discriminator."),
        colocate_gradients_with_ops=True)
    return gen_train, disc_train, disc_cost


def _session(graph: tf.Graph) -> tf1.Session:
    session = tf1.Session(graph=graph)
    with graph.as_default():
        session.run(tf1.global_variables_initializer())
    return session


def build_image_resnet(checkout: Path, image_size: int, dim: int, batch_size: int,
                       seed: int = 0) -> OriginalModel:
    """``gan_64x64_FID.py`` in its TTUR setting (D lr 3e-4, G lr 1e-4, beta1 0, one critic
    update), ``DIM = image_size``: the script ties the image side to ``DIM`` and the paper ran
    it with DIM 64 for 64×64 and 32 for CIFAR-10 (``dim`` must therefore equal ``image_size``)."""
    if dim != image_size:
        raise ValueError(f"gan_64x64_FID.py uses DIM for both the width and the image side: "
                         f"dim {dim} != image_size {image_size}")
    with _wgan_gp_graph(checkout, seed) as (graph, lib):
        networks = _definitions(checkout / "WGAN_GP" / "gan_64x64_FID.py", dict(
            tf=_TF1, lib=lib, np=np, functools=functools, DIM=dim,
            OUTPUT_DIM=dim * dim * 3, MODE="wgan-gp", BN_G=True, BN_D=True))
        pixels = tf1.placeholder(tf1.int32, [batch_size, 3, dim, dim])
        real = tf1.reshape(2 * (tf1.cast(pixels, tf1.float32) / 255.0 - 0.5),
                           [batch_size, dim * dim * 3])
        gen_train, disc_train, disc_cost = _wgan_gp_train_ops(
            lib, lambda noise: networks["GoodGenerator"](batch_size, noise=noise),
            networks["GoodDiscriminator"], real, tf1.random_normal([batch_size, 128]),
            d_lr=3e-4, g_lr=1e-4, d_beta1=0.0, g_beta1=0.0, interpolation_shape=[batch_size, 1])
    session = _session(graph)
    batches = np.random.default_rng(seed).integers(0, 256, (4, batch_size, 3, dim, dim), np.int32)
    return OriginalModel(session, _alternating(session, gen_train, disc_train, disc_cost,
                                               pixels, batches))


def build_language(checkout: Path, seq_len: int, vocab_size: int, dim: int, batch_size: int,
                   seed: int = 0) -> OriginalModel:
    """``gan_language_JSD.py`` in its TTUR setting (D lr 3e-4, G lr 1e-4, betas (0.5, 0.9), one
    critic update) with ``vocab_size`` characters in its charmap."""
    with _wgan_gp_graph(checkout, seed) as (graph, lib):
        networks = _definitions(checkout / "WGAN_GP" / "gan_language_JSD.py", dict(
            tf=_TF1, lib=lib, np=np, DIM=dim, SEQ_LEN=seq_len, charmap=range(vocab_size)))
        characters = tf1.placeholder(tf1.int32, [batch_size, seq_len])
        gen_train, disc_train, disc_cost = _wgan_gp_train_ops(
            lib, lambda noise: networks["Generator"](batch_size), networks["Discriminator"],
            tf1.one_hot(characters, vocab_size), None, d_lr=3e-4, g_lr=1e-4, d_beta1=0.5,
            g_beta1=0.5, interpolation_shape=[batch_size, 1, 1])
    session = _session(graph)
    batches = np.random.default_rng(seed).integers(0, vocab_size, (4, batch_size, seq_len),
                                                   np.int32)
    return OriginalModel(session, _alternating(session, gen_train, disc_train, disc_cost,
                                               characters, batches))


def build_dcgan(checkout: Path, image_size: int, dim: int, batch_size: int,
                seed: int = 0) -> OriginalModel:
    """TTUR's ``DCGAN_FID_batched`` model (carpedm20's DCGAN): one discriminator update, then
    one generator update on the same z ~ U(-1, 1), Adam beta1 0.5, CelebA's TTUR rates (D 1e-5,
    G 5e-4). Not run: what its loop fetches for logging besides the updates (the summaries of
    every step, among them a PNG of the batch, and three extra loss evaluations)."""
    dcgan_dir = checkout / "DCGAN_FID_batched"
    graph = tf.Graph()
    session = tf1.Session(graph=graph)
    with graph.as_default(), session.as_default(), tempfile.TemporaryDirectory() as log_dir:
        tf1.set_random_seed(seed)
        ops = _definitions(dcgan_dir / "ops.py", dict(tf=_TF1, np=np, math=math),
                           statements=(ast.FunctionDef, ast.ClassDef, ast.If, ast.Try))
        model = _definitions(dcgan_dir / "model.py", dict(ops, tf=_TF1, np=np, math=math))
        dcgan = model["DCGAN"](  # builds the graph, initialises the variables, opens a writer
            session, input_height=image_size, input_width=image_size, output_height=image_size,
            output_width=image_size, batch_size=batch_size, sample_num=batch_size,
            gf_dim=dim, df_dim=dim, fid_n_samples=batch_size, fid_sample_batchsize=batch_size,
            log_dir=log_dir)
        dcgan.writer.close()
        session.run([tf1.assign(dcgan.learning_rate_d, 1e-5),
                     tf1.assign(dcgan.learning_rate_g, 5e-4)])
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (4, batch_size, image_size, image_size, 3)).astype(np.float32)
    noise = rng.uniform(-1, 1, (4, batch_size, dcgan.z_dim)).astype(np.float32)
    step = iter(range(sys.maxsize))

    def iteration():
        index = next(step) % len(images)
        session.run(dcgan.d_optim, {dcgan.inputs: images[index], dcgan.z: noise[index]})
        session.run(dcgan.g_optim, {dcgan.z: noise[index]})

    return OriginalModel(session, iteration)


def _alternating(session, gen_train, disc_train, disc_cost, real_input, batches):
    """The WGAN-GP scripts' iteration: the generator update (from the second iteration on), then
    the critic update fed with the next batch, fetching its cost as they do."""
    step = iter(range(sys.maxsize))

    def iteration():
        index = next(step)
        if index > 0:
            session.run(gen_train)
        session.run([disc_cost, disc_train], {real_input: batches[index % len(batches)]})

    return iteration
