"""DiffAugment's operations against their definitions (NumPy), its seeds and its gradients."""

import numpy as np
import pytest
import tensorflow as tf

from ttur_tf import augment

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(-1, 1, (3, 8, 6, 3)).astype(np.float32)
U = np.array([0.1, 0.5, 0.9], np.float32)


def test_color_operations_follow_their_formulas():
    x = IMAGES.astype(np.float64)
    u = U[:, None, None, None].astype(np.float64)
    np.testing.assert_allclose(augment.brightness(IMAGES, U), x + u - 0.5, rtol=1e-6)
    pixel_mean = x.mean(axis=-1, keepdims=True)
    np.testing.assert_allclose(augment.saturation(IMAGES, U),
                               (x - pixel_mean) * 2 * u + pixel_mean, rtol=1e-5, atol=1e-6)
    image_mean = x.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(augment.contrast(IMAGES, U),
                               (x - image_mean) * (u + 0.5) + image_mean, rtol=1e-5, atol=1e-6)


def test_translation_moves_each_image_by_its_shift_with_zeros_coming_in():
    shifts_y, shifts_x = np.array([1, 0, -2], np.int32), np.array([0, -1, 2], np.int32)
    moved = augment.translate(IMAGES, shifts_y, shifts_x).numpy()
    for index, (dy, dx) in enumerate(zip(shifts_y, shifts_x)):
        expected = np.zeros_like(IMAGES[index])
        for y in range(8):
            for x in range(6):
                if 0 <= y - dy < 8 and 0 <= x - dx < 6:
                    expected[y, x] = IMAGES[index, y - dy, x - dx]
        np.testing.assert_array_equal(moved[index], expected)


def test_cutout_zeroes_a_rectangle_around_each_centre():
    centre_y, centre_x = np.array([0, 4, 7], np.int32), np.array([3, 0, 5], np.int32)
    cut = augment.cutout(IMAGES, centre_y, centre_x, 4, 3).numpy()
    for index in range(3):
        expected = IMAGES[index].copy()
        top, left = centre_y[index] - 2, centre_x[index] - 1
        expected[max(top, 0):max(top + 4, 0), max(left, 0):max(left + 3, 0)] = 0
        np.testing.assert_array_equal(cut[index], expected)


def test_the_same_seed_augments_alike_another_seed_differently_and_gradients_flow():
    policies = augment.parse_policies("color,translation,cutout")
    seed = tf.constant([5, 7], tf.int64)
    images = tf.constant(IMAGES)
    first = augment.diff_augment(images, policies, seed)
    np.testing.assert_array_equal(first, augment.diff_augment(images, policies, seed))
    assert not np.allclose(first, augment.diff_augment(images, policies, seed + 1))
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(augment.diff_augment(images, policies, seed) ** 2)
    gradient = tape.gradient(total, images).numpy()
    assert np.isfinite(gradient).all() and np.abs(gradient).max() > 0


def test_unknown_policies_are_named():
    assert augment.parse_policies("") == ()
    with pytest.raises(ValueError, match=r"unknown DiffAugment policies \['flip'\]"):
        augment.parse_policies("color,flip")
