"""The colour jitter's four operations do what their names say on [0, 255] crops."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.data import augmentation

RNG = np.random.default_rng(0)
CROP = tf.constant(RNG.uniform(20, 230, (6, 5, 3)), tf.float32)


def test_brightness_adds_the_same_amount_to_every_channel_and_clips():
    np.testing.assert_allclose(augmentation.brightness(CROP, 10.0), CROP + 10.0, atol=1e-4)
    assert float(tf.reduce_max(augmentation.brightness(CROP, 300.0))) == 255.0


def test_contrast_scales_the_distance_from_each_channels_mean():
    out = augmentation.contrast(CROP, 0.5).numpy()
    mean = CROP.numpy().mean(axis=(0, 1))
    np.testing.assert_allclose(out.mean(axis=(0, 1)), mean, atol=1e-3)
    np.testing.assert_allclose(out - mean, 0.5 * (CROP.numpy() - mean), atol=1e-3)
    np.testing.assert_allclose(
        augmentation.contrast(CROP, 0.0), np.broadcast_to(mean, CROP.shape), atol=1e-3
    )


def test_saturation_zero_is_grey_and_one_is_the_crop():
    grey = augmentation.saturation(CROP, 0.0).numpy()
    np.testing.assert_allclose(grey[..., 0], grey[..., 1], atol=1e-3)
    np.testing.assert_allclose(grey[..., 0], grey[..., 2], atol=1e-3)
    np.testing.assert_allclose(grey[..., 0], CROP.numpy().max(axis=-1), atol=1e-3)  # the value
    np.testing.assert_allclose(augmentation.saturation(CROP, 1.0), CROP, atol=1e-3)


@pytest.mark.parametrize(
    "delta,colour", [(1 / 3, (0, 255, 0)), (-1 / 3, (0, 0, 255)), (0.0, (255, 0, 0))]
)
def test_hue_turns_the_colour_circle(delta, colour):
    red = tf.constant([[[255.0, 0.0, 0.0]]])
    np.testing.assert_allclose(augmentation.hue(red, delta)[0, 0], colour, atol=1e-2)


def test_the_jitter_is_a_function_of_its_draws():
    jitter = augmentation.Photometric(augmentation.AugmentConfig(photometric_op_prob=1.0))
    u = tf.random.stateless_uniform([14], seed=[1, 2])
    a, b = jitter(CROP, u), jitter(CROP, u)
    np.testing.assert_array_equal(a, b)
    assert float(tf.reduce_mean(tf.abs(a - CROP))) > 1.0
    skipped = augmentation.Photometric(augmentation.AugmentConfig(photometric_op_prob=0.0))
    np.testing.assert_array_equal(skipped(CROP, u), CROP)
