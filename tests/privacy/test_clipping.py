import numpy as np
import tensorflow as tf

from tfpose_dp.privacy import clipping


def _tiny_model():
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((6, 6, 2))
    x = tf.keras.layers.Conv2D(3, 3, padding="same", activation="relu")(inputs)
    x = tf.keras.layers.LayerNormalization()(x)
    x = tf.keras.layers.Flatten()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(4)(x))


def _batch(n=7):
    rng = np.random.default_rng(0)
    return (
        tf.constant(rng.normal(size=(n, 6, 6, 2)), tf.float32),
        tf.constant(rng.normal(size=(n, 4)), tf.float32),
    )


def _loss_fn(model):
    def loss(example):
        x, y = example
        return tf.reduce_sum(tf.square(model(x[None])[0] - y))

    return loss


def _naive(model, batch, clip, mask):
    x, y = batch
    total = [np.zeros(v.shape) for v in model.trainable_variables]
    for i in range(x.shape[0]):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(model(x[i : i + 1])[0] - y[i]))
        g = tape.gradient(loss, model.trainable_variables)
        norm = np.sqrt(sum(float(tf.reduce_sum(t * t)) for t in g))
        f = min(1.0, clip / norm) * mask[i]
        total = [a + f * t.numpy() for a, t in zip(total, g)]
    return total


def test_clipped_sum_equals_naive_per_example_loop():
    model, batch = _tiny_model(), _batch()
    mask = np.array([1, 1, 0, 1, 1, 1, 0], np.float32)
    _, grads = clipping.per_example_gradients(_loss_fn(model), batch, model.trainable_variables)
    fast, _ = clipping.clipped_sum(grads, 0.5, tf.constant(mask))
    for a, b in zip(fast, _naive(model, batch, 0.5, mask)):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-5, atol=1e-6)


def test_clipped_norms_never_exceed_clip():
    model, batch = _tiny_model(), _batch()
    _, grads = clipping.per_example_gradients(_loss_fn(model), batch, model.trainable_variables)
    factors = clipping.clip_factors(clipping.global_norms(grads), 0.1, tf.ones(7))
    clipped_norms = clipping.global_norms(grads) * factors
    assert float(tf.reduce_max(clipped_norms)) <= 0.1 * (1 + 1e-5)


def test_masked_examples_contribute_exactly_zero():
    model, batch = _tiny_model(), _batch()
    _, grads = clipping.per_example_gradients(_loss_fn(model), batch, model.trainable_variables)
    mask = tf.constant([1, 0, 1, 0, 1, 0, 1], tf.float32)
    with_masked, _ = clipping.clipped_sum(grads, 1.0, mask)
    keep = [0, 2, 4, 6]
    only_real, _ = clipping.clipped_sum([tf.gather(g, keep) for g in grads], 1.0, tf.ones(4))
    for a, b in zip(with_masked, only_real):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_non_finite_example_is_dropped_not_propagated():
    g = [tf.constant([[1.0, 0.0], [np.nan, 1.0], [0.0, 1.0]])]
    total, _ = clipping.clipped_sum(g, 10.0, tf.ones(3))
    np.testing.assert_allclose(total[0].numpy(), [1.0, 1.0])


def test_non_finite_examples_are_dropped_in_a_compiled_step_too():
    """inf, NaN and a norm that overflows float32 each drop their example, masked or not."""
    g = [
        tf.constant([[1.0, 0.0], [np.inf, 1.0], [0.0, 1.0], [1e20, 0.0], [np.nan, 2.0]]),
        tf.constant([[2.0], [0.0], [0.0], [0.0], [0.0]]),
    ]
    mask = tf.constant([1.0, 1.0, 1.0, 1.0, 0.0])
    total, norms = tf.function(clipping.clipped_sum)(g, 10.0, mask)
    np.testing.assert_allclose(total[0].numpy(), [1.0, 1.0])
    np.testing.assert_allclose(total[1].numpy(), [2.0])
    assert np.isfinite(norms.numpy()).tolist() == [True, False, True, False, False]


def test_squared_norms_are_per_example_and_per_variable():
    g = [tf.constant([[3.0, 4.0], [1.0, 0.0]]), tf.constant([[[1.0, 2.0]], [[0.0, 0.0]]])]
    squares = clipping.squared_norms(g)
    np.testing.assert_allclose(squares[0].numpy(), [25.0, 1.0])
    np.testing.assert_allclose(squares[1].numpy(), [5.0, 0.0])
