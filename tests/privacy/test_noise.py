import numpy as np
import tensorflow as tf

from tfpose_dp.privacy import noise


def test_noise_std_on_zero_gradient_is_sigma_times_clip():
    sigma, clip, n = 1.7, 0.3, 200_000
    sample = noise.add_noise([tf.zeros([n])], sigma * clip, noise.step_key(11, 0))[0].numpy()
    std = sample.std()
    se = sigma * clip / np.sqrt(2 * (n - 1))  # standard error of a normal sample's std
    assert abs(std - sigma * clip) < 3 * se
    assert abs(sample.mean()) < 3 * sigma * clip / np.sqrt(n)


def test_noise_is_a_function_of_key_and_step_and_fresh_each_step():
    def draw(seed, step):
        return noise.add_noise(
            [tf.zeros([1000]), tf.zeros([1000])], 1.0, noise.step_key(seed, step)
        )

    np.testing.assert_array_equal(draw(4, 7)[0].numpy(), draw(4, 7)[0].numpy())
    samples = [draw(4, 7)[0], draw(4, 7)[1], draw(4, 8)[0], draw(5, 7)[0]]
    flat = np.stack([s.numpy() for s in samples])
    corr = np.corrcoef(flat)
    assert np.all(
        np.abs(corr[np.triu_indices(4, 1)]) < 0.15
    )  # tensors, steps and seeds independent


def test_normalise_divides_by_expected_batch_size():
    out = noise.normalise([tf.constant([8.0, 16.0])], expected_batch_size=8)
    np.testing.assert_allclose(out[0].numpy(), [1.0, 2.0])


def test_a_run_key_of_two_words_works_like_an_int_key():
    from tfpose_dp.privacy.dp_key import DPKey

    key = DPKey.generate().noise_key()
    a = noise.add_noise([tf.zeros([50])], 1.0, noise.step_key(key, 3))[0].numpy()
    b = noise.add_noise([tf.zeros([50])], 1.0, noise.step_key(list(key), 3))[0].numpy()
    np.testing.assert_array_equal(a, b)
    assert a.std() > 0.5
