import numpy as np
import pytest
import tensorflow as tf
from tensorflow_privacy import DPKerasAdamOptimizer, DPKerasSGDOptimizer

from tfpose_dp.privacy.optimizer import PoseDPAdam, PoseDPSGD, make_dp_optimizer


def _model():
    tf.keras.utils.set_random_seed(1)
    inputs = tf.keras.Input((5,))
    return tf.keras.Model(
        inputs, tf.keras.layers.Dense(3)(tf.keras.layers.Dense(4, activation="tanh")(inputs))
    )


def _data(n=6):
    rng = np.random.default_rng(2)
    return tf.constant(rng.normal(size=(n, 5)), tf.float32), tf.constant(
        rng.normal(size=(n, 3)), tf.float32
    )


def _loss_fn(model):
    return lambda ex: tf.reduce_sum(tf.square(model(ex[0][None])[0] - ex[1]))


def test_subclasses_tf_privacy_classes_with_the_same_query():
    opt = make_dp_optimizer(
        "sgd", 0.1, l2_norm_clip=0.7, noise_multiplier=1.3, expected_batch_size=4
    )
    assert isinstance(opt, type(DPKerasSGDOptimizer(1.0, 1.0)))
    assert isinstance(
        make_dp_optimizer("adam", 0.1, 1.0, 1.0, 4), type(DPKerasAdamOptimizer(1.0, 1.0))
    )
    assert opt._dp_sum_query._l2_norm_clip == 0.7
    assert opt._dp_sum_query._stddev == pytest.approx(0.7 * 1.3)


def test_negligible_noise_and_huge_clip_equal_plain_sgd():
    x, y = _data()
    m1, m2 = _model(), _model()
    dp = PoseDPSGD(
        l2_norm_clip=1e6, noise_multiplier=1e-15, expected_batch_size=6, learning_rate=0.1
    )
    dp.accumulate(_loss_fn(m1), (x, y), tf.ones(6), m1.trainable_variables)
    dp.apply_gradients(zip(dp.private_gradients(m1.trainable_variables), m1.trainable_variables))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.reduce_sum(tf.square(m2(x) - y), 1))
    sgd = tf.keras.optimizers.legacy.SGD(0.1)
    sgd.apply_gradients(zip(tape.gradient(loss, m2.trainable_variables), m2.trainable_variables))
    for a, b in zip(m1.trainable_variables, m2.trainable_variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_noise_is_added_once_per_logical_batch_and_normalised_by_expected_size():
    x, y = _data(8)
    m = _model()
    variables = m.trainable_variables
    opt = PoseDPSGD(
        l2_norm_clip=1.0,
        noise_multiplier=2.0,
        expected_batch_size=10,
        noise_key=5,
        learning_rate=0.1,
    )
    for chunk in range(2):  # two physical chunks, one logical batch
        opt.accumulate(
            _loss_fn(m),
            (x[chunk * 4 : (chunk + 1) * 4], y[chunk * 4 : (chunk + 1) * 4]),
            tf.ones(4),
            variables,
        )
    grads = opt.private_gradients(variables)
    ref = PoseDPSGD(
        l2_norm_clip=1.0,
        noise_multiplier=2.0,
        expected_batch_size=10,
        noise_key=5,
        learning_rate=0.1,
    )
    ref.accumulate(_loss_fn(m), (x, y), tf.ones(8), variables)
    ref_grads = ref.private_gradients(variables)
    for a, b in zip(grads, ref_grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    # The accumulator was reset: an empty batch yields pure noise / expected size.
    empty = opt.private_gradients(variables)
    flat = np.concatenate([g.numpy().ravel() for g in empty])
    assert 0.5 < flat.std() * 10 / 2.0 < 1.5


def test_compiled_model_saves_and_loads_with_the_optimizer(tmp_path):
    for cls in (PoseDPSGD, PoseDPAdam):
        m = _model()
        m.compile(
            optimizer=cls(
                l2_norm_clip=1.0,
                noise_multiplier=1.1,
                expected_batch_size=16,
                noise_key=3,
                learning_rate=0.01,
            ),
            loss="mse",
        )
        path = str(tmp_path / f"{cls.__name__}.keras")
        m.save(path)
        loaded = tf.keras.models.load_model(path)
        assert isinstance(loaded.optimizer, cls)
        assert loaded.optimizer.get_config()["noise_multiplier"] == 1.1
        assert loaded.optimizer.l2_norm_clip == 1.0 and loaded.optimizer.expected_batch_size == 16
        assert "noise_key" not in loaded.optimizer.get_config()  # the secret is never serialised
        assert loaded.optimizer._noise_key != [0x5EED, 3]  # a reloaded optimizer draws a new one


def test_zero_noise_is_refused():
    with pytest.raises(ValueError, match="no privacy guarantee"):
        PoseDPSGD(l2_norm_clip=1.0, noise_multiplier=0.0, expected_batch_size=4, learning_rate=0.1)


def test_default_noise_key_comes_from_the_os_not_the_global_seed():
    keys = []
    for _ in range(2):
        tf.keras.utils.set_random_seed(0)
        keys.append(make_dp_optimizer("sgd", 0.1, 1.0, 1.0, 4)._noise_key)
    assert keys[0] != keys[1]
