"""The FID study's disturbances: identity at level 0, more change at higher levels, their definitions."""

import numpy as np
import pytest

from ttur_tf.fid import disturbances
from ttur_tf.fid.disturbances import DISTURBANCES, LEVELS


def smooth_images(count=6, size=32, seed=0):
    """Images with structure (a colour gradient plus blobs), so blur and swirl visibly move pixels."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:size, 0:size] / size
    images = np.empty((count, size, size, 3))
    for index in range(count):
        phase = rng.uniform(0, 2 * np.pi, 3)
        for channel in range(3):
            images[index, :, :, channel] = 127.5 * (1 + np.sin(7 * rows + 5 * columns * (channel + 1) + phase[channel]))
    return np.clip(images, 0, 255).astype(np.uint8)


def apply(name, images, level, seed=1):
    other = smooth_images(len(images), images.shape[1], seed=99)[..., ::-1].copy()
    kwargs = {"other": other} if name == "contamination" else {}
    return DISTURBANCES[name](images, level, np.random.default_rng(seed), **kwargs)


@pytest.mark.parametrize("name", sorted(DISTURBANCES))
def test_level_zero_is_the_identity_and_higher_levels_change_more(name):
    images = smooth_images()
    assert LEVELS[name][0] == 0 and len(LEVELS[name]) == 4
    unchanged = apply(name, images, 0.0)
    np.testing.assert_array_equal(unchanged, images)
    assert unchanged is not images
    changes = [np.mean(np.abs(apply(name, images, level).astype(float) - images)) for level in LEVELS[name]]
    assert changes[0] == 0
    assert all(a < b for a, b in zip(changes, changes[1:])), changes
    for level in LEVELS[name]:
        disturbed = apply(name, images, level)
        assert disturbed.dtype == np.uint8 and disturbed.shape == images.shape


def test_gaussian_noise_is_the_convex_mix_with_noise_scaled_to_0_255():
    images = np.full((2, 4, 4, 3), 200, np.uint8)
    noisy = disturbances.gaussian_noise(images, 0.5, np.random.default_rng(0))
    noise = np.random.default_rng(0).standard_normal(images.shape)
    noise = (noise - noise.min()) / (noise.max() - noise.min()) * 255
    np.testing.assert_array_equal(noisy, np.clip(np.round(100 + 0.5 * noise), 0, 255))


def test_blur_keeps_a_constant_image_and_smooths_an_edge():
    constant = np.full((1, 9, 9, 3), 80, np.uint8)
    np.testing.assert_array_equal(disturbances.gaussian_blur(constant, 2.0), constant)
    edge = np.zeros((1, 9, 9, 1), np.uint8)
    edge[:, :, 5:] = 255
    blurred = disturbances.gaussian_blur(edge, 1.0)[0, 4, :, 0]
    assert 0 < blurred[4] < blurred[5] < 255 and blurred[0] == 0 and blurred[8] == 255


def test_rectangles_are_black_and_of_the_stated_size():
    images = np.full((3, 20, 20, 3), 255, np.uint8)
    covered = disturbances.black_rectangles(images, 0.25, np.random.default_rng(0))
    black = np.all(covered == 0, axis=-1)
    assert np.all((covered == 0) | (covered == 255))
    # five 5×5 rectangles, possibly overlapping: between 25 and 125 black pixels per image
    assert all(25 <= count <= 125 for count in black.sum(axis=(1, 2)))


def test_salt_and_pepper_flips_the_stated_fraction_of_pixels_to_black_or_white():
    images = np.full((4, 50, 50, 3), 128, np.uint8)
    noisy = disturbances.salt_and_pepper(images, 0.2, np.random.default_rng(0))
    flipped = np.any(noisy != 128, axis=-1)
    assert flipped.mean() == pytest.approx(0.2, abs=0.01)
    values = noisy[flipped]
    assert np.all((values == 0) | (values == 255)) and np.all(values == values[:, :1])
    assert np.mean(values[:, 0] == 255) == pytest.approx(0.5, abs=0.05)


def test_swirl_keeps_the_centre_and_frame_and_moves_the_rest():
    images = smooth_images(2, 32)
    swirled = disturbances.swirl(images, 4.0, np.random.default_rng(0))
    np.testing.assert_array_equal(swirled[:, :3], images[:, :3])
    np.testing.assert_array_equal(swirled[:, 16, 16], images[:, 16, 16])
    assert np.mean(swirled[:, 8:24, 8:24] != images[:, 8:24, 8:24]) > 0.5


def test_contamination_replaces_the_stated_fraction_with_other_images():
    images = np.zeros((8, 4, 4, 3), np.uint8)
    other = np.full((8, 4, 4, 3), 255, np.uint8)
    mixed = disturbances.contamination(images, 0.25, np.random.default_rng(0), other=other)
    assert int(np.all(mixed == 255, axis=(1, 2, 3)).sum()) == 2
    with pytest.raises(ValueError, match="another data set"):
        disturbances.contamination(images, 0.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="resize them"):
        disturbances.contamination(images, 0.5, np.random.default_rng(0), other=other[:, :2])


def test_non_uint8_images_are_refused():
    with pytest.raises(ValueError, match="uint8 images"):
        disturbances.gaussian_blur(np.zeros((1, 4, 4, 3), np.float32), 1.0)
