"""The lean GroupNormalization computes Keras's, values and gradients."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.models import norms


@pytest.mark.parametrize("shape,groups", [((3, 5, 4, 16), 8), ((2, 7, 12), 4), ((2, 6, 6), 3)])
def test_group_norm_equals_keras_group_normalization(shape, groups):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(2.0, 3.0, shape), tf.float32)
    gamma, beta = rng.normal(size=(2, shape[-1])).astype("float32")
    lean = norms.GroupNormalization(groups=groups, epsilon=1e-5)
    keras = tf.keras.layers.GroupNormalization(groups=groups, epsilon=1e-5)
    outputs, grads = [], []
    for layer in (lean, keras):
        layer.build(x.shape)
        layer.gamma.assign(gamma), layer.beta.assign(beta)  # a non-trivial affine part
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(tf.sin(y))
        outputs.append(y.numpy())
        grads.append([g.numpy() for g in tape.gradient(loss, [x, layer.gamma, layer.beta])])
    np.testing.assert_allclose(outputs[0], outputs[1], atol=2e-5)
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, atol=2e-4)
    # the same config and default name (presets and checkpoints are unchanged)
    assert {**lean.get_config(), "name": None} == {**keras.get_config(), "name": None}
    assert lean.name.startswith("group_normalization")


def test_a_dimension_known_only_at_run_time_takes_keras_path():
    layer = norms.make_norm("group", 8)
    assert isinstance(layer, norms.GroupNormalization)
    fn = tf.function(layer).get_concrete_function(tf.TensorSpec([None, None, 8]))
    x = tf.random.normal([2, 5, 8])
    np.testing.assert_allclose(fn(x), layer(x), atol=1e-6)
