"""The image disturbances of the paper's FID study (Figure 3, Appendix A1), on uint8 NHWC arrays.

Reproduces bioinf-jku/TTUR ``FIDvsINC`` (``fidutils.py``, ``main.py``; the levels of
``FID_vs_Inception_Score/README.md``), on pixel values 0..255 instead of the original's [-1, 1]:

=====================  ===========================================================  ==================
name                   what level α does                                            levels
=====================  ===========================================================  ==================
``gaussian_noise``     (1 − α)·X + α·N, N Gaussian noise min-max scaled to 0..255    0, 0.25, 0.5, 0.75
``gaussian_blur``      Gaussian filter with standard deviation α pixels (H and W)    0, 1, 2, 4
``black_rectangles``   five black rectangles of α·H × α·W at random positions        0, 0.25, 0.5, 0.75
``swirl``              a swirl of strength α (random direction) at the centre        0, 1, 2, 4
``salt_and_pepper``    a fraction α of the pixels set to black or white (50/50)      0, 0.1, 0.2, 0.3
``contamination``      a fraction α of the images replaced by images of another set  0, 0.25, 0.5, 0.75
=====================  ===========================================================  ==================

Every function takes ``(images, level, rng)`` (``contamination`` also ``other``), returns a new
uint8 array of the same shape, and is the identity at level 0. Results are rounded and clipped to
0..255. The swirl follows scikit-image's ``swirl`` (which the original calls): inverse mapping
θ = strength · exp(−ρ / (radius · ln 2 / 5)), bilinear interpolation with mirrored borders, and the
original's restoring of a 3-pixel frame; its radius is 70/64 of the image size (the original's
CelebA setting for 64×64 images).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = [
    "DISTURBANCES",
    "LEVELS",
    "black_rectangles",
    "contamination",
    "gaussian_blur",
    "gaussian_noise",
    "salt_and_pepper",
    "swirl",
]

_RECTANGLES = 5
_SWIRL_RADIUS_PER_PIXEL = 70 / 64
_SWIRL_FRAME = 3


def _checked(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (N, H, W, C), got {images.dtype} {images.shape}")
    return images


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def gaussian_noise(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Mixes in Gaussian noise: (1 − level)·X + level·N, N scaled to 0..255 over the batch."""
    images = _checked(images)
    if level == 0:
        return images.copy()
    noise = rng.standard_normal(images.shape)
    noise = (noise - noise.min()) / (noise.max() - noise.min()) * 255.0
    return _to_uint8((1.0 - level) * images + level * noise)


def gaussian_blur(images: np.ndarray, level: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Blurs each image and channel with a Gaussian of standard deviation ``level`` pixels."""
    del rng  # deterministic
    images = _checked(images)
    if level == 0:
        return images.copy()
    blurred = ndimage.gaussian_filter(images.astype(np.float64), sigma=(0, level, level, 0),
                                      mode="nearest")
    return _to_uint8(blurred)


def black_rectangles(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Draws five black rectangles of ⌊level·H⌋ × ⌊level·W⌋ pixels at random places in each image."""
    images = _checked(images)
    result = images.copy()
    count, height, width, _ = images.shape
    rect_height, rect_width = int(height * level), int(width * level)
    if rect_height == 0 or rect_width == 0:
        return result
    for index in range(count):
        for _ in range(_RECTANGLES):
            top = rng.integers(0, height - rect_height + 1)
            left = rng.integers(0, width - rect_width + 1)
            result[index, top:top + rect_height, left:left + rect_width] = 0
    return result


def swirl(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Swirls each image around its centre with strength ``level`` in a random direction."""
    images = _checked(images)
    if level == 0:
        return images.copy()
    count, height, width, channels = images.shape
    radius = _SWIRL_RADIUS_PER_PIXEL * max(height, width) / 5 * np.log(2)
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float64)
    center_row, center_column = height // 2, width // 2
    rho = np.hypot(rows - center_row, columns - center_column)
    angle = np.arctan2(rows - center_row, columns - center_column)
    result = np.empty_like(images)
    for index in range(count):
        theta = np.sign(rng.random() - 0.5) * level * np.exp(-rho / radius) + angle
        source = [center_row + rho * np.sin(theta), center_column + rho * np.cos(theta)]
        for channel in range(channels):
            warped = ndimage.map_coordinates(images[index, :, :, channel].astype(np.float64),
                                             source, order=1, mode="mirror")
            result[index, :, :, channel] = _to_uint8(warped)
    frame = _SWIRL_FRAME
    result[:, :frame] = images[:, :frame]
    result[:, -(frame + 1):] = images[:, -(frame + 1):]
    result[:, :, :frame] = images[:, :, :frame]
    result[:, :, -(frame + 1):] = images[:, :, -(frame + 1):]
    return result


def salt_and_pepper(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Sets a fraction ``level`` of the pixels (all channels) to black or white, 50/50."""
    images = _checked(images)
    result = images.copy()
    flipped = rng.random(images.shape[:3]) < level
    result[flipped] = np.where(rng.random(int(flipped.sum())) < 0.5, 0, 255)[:, None]
    return result


def contamination(images: np.ndarray, level: float, rng: np.random.Generator,
                  other: np.ndarray | None = None) -> np.ndarray:
    """Replaces round(level·N) randomly chosen images by images of ``other`` (another data set).

    Raises:
        ValueError: ``other`` is missing, has another image shape, or has too few images.
    """
    images = _checked(images)
    result = images.copy()
    replaced = int(round(level * len(images)))
    if replaced == 0:
        return result
    if other is None:
        raise ValueError("contamination needs images of another data set (other=...)")
    other = _checked(other)
    if other.shape[1:] != images.shape[1:]:
        raise ValueError(f"the other images are {other.shape[1:]}, not {images.shape[1:]}: "
                         "resize them to the real images' size")
    if len(other) < replaced:
        raise ValueError(f"contamination at {level} needs {replaced} other images, got {len(other)}")
    targets = rng.choice(len(images), replaced, replace=False)
    result[targets] = other[rng.choice(len(other), replaced, replace=False)]
    return result


LEVELS = {
    "gaussian_noise": (0.0, 0.25, 0.5, 0.75),
    "gaussian_blur": (0.0, 1.0, 2.0, 4.0),
    "black_rectangles": (0.0, 0.25, 0.5, 0.75),
    "swirl": (0.0, 1.0, 2.0, 4.0),
    "salt_and_pepper": (0.0, 0.1, 0.2, 0.3),
    "contamination": (0.0, 0.25, 0.5, 0.75),
}
DISTURBANCES = {
    "gaussian_noise": gaussian_noise,
    "gaussian_blur": gaussian_blur,
    "black_rectangles": black_rectangles,
    "swirl": swirl,
    "salt_and_pepper": salt_and_pepper,
    "contamination": contamination,
}
