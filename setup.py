"""Installs ttur_tf: TTUR (Heusel et al., NeurIPS 2017) training and FID on TensorFlow 2 / Keras 3."""

from setuptools import find_packages, setup

setup(
    name="ttur_tf",
    version="0.1.0",
    description=(
        "Two time-scale update rule GAN training and FID with the original frozen Inception graph, "
        "on TensorFlow 2 / Keras 3"
    ),
    packages=find_packages(include=["ttur_tf", "ttur_tf.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16,<3",
        "keras>=3,<4",
        "tensorflow-datasets>=4.9",
        # tensorflow-datasets imports importlib_resources whenever it prepares a dataset, but
        # declares it only for Python < 3.9: without it every download_and_prepare fails.
        "importlib_resources",
        "numpy>=1.24",
        # scipy < 1.13 has a sqrtm regression that yields huge imaginary parts (scipy#19415).
        "scipy>=1.13",
        "absl-py>=1.0",
        "tensorboard>=2.16",
    ],
    extras_require={
        "plots": ["matplotlib>=3.7"],
        "test": ["pytest>=7", "pytest-xdist>=3", "pillow>=10", "matplotlib>=3.7"],
    },
)
