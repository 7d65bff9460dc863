import numpy as np
import tensorflow as tf

from tfpose_dp.privacy import noise


def test_noise_std_on_zero_gradient_is_sigma_times_clip():
    sigma, clip, n = 1.7, 0.3, 200_000
    gen = tf.random.Generator.from_seed(11)
    sample = noise.add_noise([tf.zeros([n])], sigma * clip, gen)[0].numpy()
    std = sample.std()
    se = sigma * clip / np.sqrt(2 * (n - 1))  # standard error of a normal sample's std
    assert abs(std - sigma * clip) < 3 * se
    assert abs(sample.mean()) < 3 * sigma * clip / np.sqrt(n)


def test_noise_is_reproducible_from_generator_state():
    a, b = tf.random.Generator.from_seed(4), tf.random.Generator.from_seed(4)
    x = noise.add_noise([tf.zeros([5])], 1.0, a)[0]
    y = noise.add_noise([tf.zeros([5])], 1.0, b)[0]
    np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_normalise_divides_by_expected_batch_size():
    out = noise.normalise([tf.constant([8.0, 16.0])], expected_batch_size=8)
    np.testing.assert_allclose(out[0].numpy(), [1.0, 2.0])
