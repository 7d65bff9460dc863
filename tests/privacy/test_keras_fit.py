"""`model.compile(optimizer=PoseDPSGD(...))` + `model.fit` run the project's private step."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.privacy import clipping
from tfpose_dp.privacy.optimizer import PoseDPAdam, PoseDPSGD

NONE = tf.keras.losses.Reduction.NONE


def _model(seed=0):
    tf.keras.utils.set_random_seed(seed)
    return tf.keras.Sequential(
        [
            tf.keras.Input((3,)),
            tf.keras.layers.Dense(4, activation="tanh"),
            tf.keras.layers.Dense(2),
        ]
    )


def _compile(model, optimizer=PoseDPSGD, loss=None, **settings):
    """Compiles `model` with a DP optimizer (clip 1, sigma 1, B = 4 unless `settings` say)."""
    args = dict(l2_norm_clip=1.0, noise_multiplier=1.0, expected_batch_size=4, learning_rate=0.1)
    model.compile(
        optimizer=optimizer(**{**args, **settings}),
        loss=loss if loss is not None else tf.keras.losses.MeanSquaredError(reduction=NONE),
    )
    return model


def _data():
    rng = np.random.default_rng(0)
    # large targets: every example's gradient norm is above the clip
    return rng.normal(size=(4, 3)).astype("float32"), 10 * rng.normal(size=(4, 2)).astype("float32")


def _by_hand(model, x, y, clip, expected_batch_size, lr):
    """w - lr * sum_i clip(g_i) / B, each g_i from its own tape: the reference."""
    loss = tf.keras.losses.MeanSquaredError(reduction=NONE)
    total = [np.zeros(v.shape, np.float64) for v in model.trainable_variables]
    for i in range(len(x)):
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(loss(y[i : i + 1], model(x[i : i + 1])))
        grads = [g.numpy() for g in tape.gradient(value, model.trainable_variables)]
        norm = np.sqrt(sum(float((g**2).sum()) for g in grads))
        assert norm > clip  # the test exercises the clip
        total = [t + g * min(1.0, clip / norm) for t, g in zip(total, grads)]
    variables = model.trainable_variables
    return [v.numpy() - lr * t / expected_batch_size for v, t in zip(variables, total)]


@pytest.mark.parametrize("clipping_mode", ["vmap", "ghost"])
def test_one_fit_step_is_the_clipped_sum_over_the_expected_batch_size(clipping_mode):
    x, y = _data()
    model = _model()
    expected = _by_hand(model, x, y, clip=0.5, expected_batch_size=8, lr=0.1)
    model.compile(
        optimizer=PoseDPSGD(
            l2_norm_clip=0.5,
            noise_multiplier=1e-9,
            expected_batch_size=8,
            learning_rate=0.1,
            clipping=clipping_mode,
        ),
        loss=tf.keras.losses.MeanSquaredError(reduction=NONE),
    )
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(model.trainable_variables, expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-6)
    assert int(model.optimizer.iterations) == 1


def test_fit_calls_the_projects_clipping_not_tf_privacys_loop(monkeypatch):
    calls = []
    real = clipping.clipped_sum

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(clipping, "clipped_sum", counting)
    x, y = _data()
    model = _model()
    _compile(model, optimizer=PoseDPAdam, learning_rate=0.01)
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert calls  # traced into the train function
    assert "nonprivate_train_loss" in history.history and "loss" not in history.history


@pytest.mark.parametrize(
    "loss",
    [
        "mse",
        tf.keras.losses.MeanSquaredError(),
        lambda y_true, y_pred: tf.reduce_mean(tf.square(y_true - y_pred), -1),
    ],
    ids=["string", "mean_reduction", "plain_function"],
)
def test_a_loss_that_is_not_per_example_is_refused_at_the_first_step(loss):
    x, y = _data()
    model = _model()
    _compile(model, loss=loss)
    before = [v.numpy() for v in model.trainable_variables]
    with pytest.raises(ValueError, match="reduction=tf.keras.losses.Reduction.NONE"):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    for v, b in zip(model.trainable_variables, before):
        np.testing.assert_array_equal(v.numpy(), b)


def test_minimize_with_a_tape_is_refused_not_run_as_tf_privacys_loop():
    x, y = _data()
    model = _model()
    opt = PoseDPSGD(l2_norm_clip=1.0, noise_multiplier=1.0, expected_batch_size=4, learning_rate=1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(model(x) - y), -1)
    with pytest.raises(TypeError, match="model.fit"):
        opt.minimize(loss, model.trainable_variables, tape=tape)


def test_a_custom_train_step_that_calls_minimize_is_refused():
    class Custom(tf.keras.Model):
        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(self(x) - y), -1)
            self.optimizer.minimize(loss, self.trainable_variables, tape=tape)
            return {}

    inputs = tf.keras.Input((3,))
    model = Custom(inputs, tf.keras.layers.Dense(2)(inputs))
    _compile(model)
    with pytest.raises(TypeError, match="model.fit"):
        model.fit(*_data(), batch_size=4, verbose=0)


def test_models_with_other_optimizers_train_as_keras_does():
    x, y = _data()
    model = _model()
    model.compile(optimizer=tf.keras.optimizers.SGD(0.01), loss="mse")
    history = model.fit(x, y, batch_size=4, verbose=0)
    assert "loss" in history.history


def test_an_empty_poisson_batch_still_releases_noise():
    x, y = _data()
    model = _model()
    _compile(model)
    before = [v.numpy() for v in model.trainable_variables]
    empty = tf.data.Dataset.from_tensors((x[:0], y[:0]))
    model.fit(empty, epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == 1
    moved = [not np.allclose(v.numpy(), b) for v, b in zip(model.trainable_variables, before)]
    assert all(moved)


@pytest.mark.parametrize(
    "layer",
    [tf.keras.layers.Dropout(0.1), tf.keras.layers.BatchNormalization()],
    ids=["dropout", "batch_norm"],
)
def test_layers_that_mix_examples_are_refused(layer):
    model = tf.keras.Sequential([tf.keras.Input((3,)), layer, tf.keras.layers.Dense(2)])
    _compile(model)
    with pytest.raises(ValueError, match=layer.name):
        model.fit(*_data(), batch_size=4, verbose=0)
    layer.trainable = False  # a frozen BatchNormalization runs in inference mode
    if isinstance(layer, tf.keras.layers.Dropout):
        layer.rate = 0.0
    _compile(model)
    model.fit(*_data(), batch_size=4, verbose=0)


@pytest.mark.parametrize(
    "setting,message",
    [({"num_microbatches": 2}, "microbatches"), ({"gradient_accumulation_steps": 4}, "Poisson")],
)
def test_tf_privacy_settings_this_step_does_not_honour_are_refused(setting, message):
    with pytest.raises(ValueError, match=message):
        PoseDPSGD(
            l2_norm_clip=1.0,
            noise_multiplier=1.0,
            expected_batch_size=4,
            learning_rate=0.1,
            **setting,
        )
