"""--clipping=ghost gives the exact path's clipped sum and norms, layer type by layer type."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.models import tinyvit_layers
from tfpose_dp.models.pose_model import build_pose_model
from tfpose_dp.models.simcc import SimCCHead
from tfpose_dp.privacy import clipping, ghost_clipping

BATCH = 4


def _sum_of_squares_loss(outputs, inputs):
    flat = [tf.reshape(o, [tf.shape(o)[0], -1]) for o in tf.nest.flatten(outputs)]
    target = inputs["target"]
    return tf.add_n([tf.reduce_sum(tf.square(f - target[:, :1]), 1) for f in flat]) * 0.5


def _both_paths(model, images, clip=None, mask=None):
    """Ghost and exact (sums, norms); clip None: the median exact norm (some clipped, some not)."""
    variables = model.trainable_variables
    mask = tf.ones([BATCH]) if mask is None else mask
    inputs = {"image": images, "target": tf.random.stateless_normal([BATCH, 3], seed=[1, 2])}

    def one_example_loss(example):
        example = tf.nest.map_structure(lambda t: t[None], example)
        return _sum_of_squares_loss(model(example["image"], training=True), example)[0]

    _, grads = clipping.per_example_gradients(one_example_loss, inputs, variables)
    if clip is None:
        norms = np.sort(clipping.global_norms(grads).numpy())
        clip = float(np.sqrt(norms[1] * norms[2]))  # between the 2nd and 3rd of 4
        assert norms[0] < clip < norms[-1]

    def exact():
        return clipping.clipped_sum(grads, clip, mask)

    losses, ghost_sums, ghost_norms = ghost_clipping.clipped_sum(
        _sum_of_squares_loss, model, inputs, mask, variables, clip, exact
    )
    exact_sums, exact_norms = exact()
    assert losses.shape == (BATCH,)
    return (ghost_sums, ghost_norms), (exact_sums, exact_norms)


def _assert_same(ghost, exact, rtol=2e-4):
    (ghost_sums, ghost_norms), (exact_sums, exact_norms) = ghost, exact
    np.testing.assert_allclose(ghost_norms.numpy(), exact_norms.numpy(), rtol=rtol)
    scale = max(float(tf.linalg.global_norm(exact_sums)), 1e-6)
    for g, e in zip(ghost_sums, exact_sums):
        np.testing.assert_allclose(g.numpy(), e.numpy(), atol=rtol * scale)


def _wrap(layer, input_shape):
    inputs = tf.keras.Input(input_shape)
    return tf.keras.Model(inputs, layer(inputs))


def _images(shape, seed=0):
    return tf.random.stateless_normal([BATCH, *shape], seed=[seed, 7])


LAYERS = {
    # tokens^2 <= d_in*d_out: the Gram route; and the direct route (many tokens, small dims)
    "dense_gram": (lambda: tf.keras.layers.Dense(6), (3, 5)),
    "dense_direct": (lambda: tf.keras.layers.Dense(2, use_bias=False), (40, 3)),
    "dense_direct_bias": (lambda: tf.keras.layers.Dense(2), (40, 3)),
    "dense_activation": (lambda: tf.keras.layers.Dense(4, activation="gelu"), (3, 5)),
    "layer_norm": (lambda: tf.keras.layers.LayerNormalization(), (3, 5)),
    "convnorm_1x1_group": (lambda: tinyvit_layers.ConvNorm(8, 1, norm="group"), (6, 5, 4)),
    "convnorm_3x3_stride2": (lambda: tinyvit_layers.ConvNorm(8, 3, 2, norm="group"), (6, 5, 4)),
    "convnorm_depthwise_frozen_bn": (
        lambda: tinyvit_layers.ConvNorm(4, 3, depthwise=True, norm="frozen_bn"),
        (6, 5, 4),
    ),
    "window_attention": (lambda: tinyvit_layers.WindowAttention(8, 2, 2), (4, 8)),
    "tinyvit_block": (lambda: tinyvit_layers.TinyViTBlock(8, 2, 2, norm="group"), (4, 6, 8)),
    "simcc_head": (lambda: SimCCHead(3, (8, 6)), (2, 2, 4)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_layer_type_matches_the_exact_path(name):
    make, shape = LAYERS[name]
    model = _wrap(make(), shape)
    ghost, exact = _both_paths(model, _images(shape))  # two examples clipped, two not
    _assert_same(ghost, exact)


@pytest.mark.slow  # ~1-2 minutes: the whole model's per-example gradients, eagerly
def test_the_whole_pose_model_with_a_mask_matches_the_exact_path():
    tf.keras.utils.set_random_seed(3)
    model = build_pose_model("tiny_vit_micro", (64, 48), norm="group")
    mask = tf.constant([1.0, 0.0, 1.0, 1.0])
    ghost, exact = _both_paths(model, _images((64, 48, 3), 1), mask=mask)
    _assert_same(ghost, exact, rtol=1e-3)
    assert float(exact[1][1]) > 0  # the masked example has a norm, and no weight in the sum


def test_a_non_finite_example_takes_the_exact_path_and_is_dropped():
    model = _wrap(tf.keras.layers.Dense(3), (2, 4))
    images = _images((2, 4)).numpy()
    images[2, 0, 0] = np.inf
    ghost, exact = _both_paths(model, tf.constant(images), clip=1.0)
    for g, e in zip(ghost[0], exact[0]):
        assert np.all(np.isfinite(g.numpy()))
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-5)


def test_inside_tf_function_the_recording_leaves_the_layers_as_they_were():
    model = _wrap(tinyvit_layers.ConvNorm(8, 1, norm="group"), (6, 5, 4))
    layer = model.layers[-1]
    run = tf.function(lambda images: _both_paths(model, images, clip=1.0))
    ghost, exact = run(_images((6, 5, 4)))
    _assert_same(ghost, exact)
    assert "call" not in vars(layer)  # the recording wrapper is gone after the trace


def test_attention_records_only_its_bias_add_and_restores_it():
    """The bias table's part comes from the recorded bias add (its per-example gradients from
    the gradient at the biased logits), and the layer is as it was after the pass."""
    layer = tinyvit_layers.WindowAttention(8, 2, 2)
    model = _wrap(layer, (4, 8))
    _, calls = ghost_clipping.record_forward(model, _images((4, 8)), [layer.attention_biases])
    assert [c.layer for c in calls] == [layer]
    assert calls[0].call.__name__ == "add_position_bias"
    assert "add_position_bias" not in vars(layer) and "call" not in vars(layer)


def _product_loss(outputs, inputs):
    """sum(out * target): the gradient at the layer's output is the target itself."""
    out = tf.nest.flatten(outputs)[0]
    return tf.reduce_sum(tf.reshape(out * inputs["target"], [tf.shape(out)[0], -1]), 1)


def _ghost(loss, model, inputs, variables, clip=1.0):
    """ghost_clipping.clipped_sum with the exact path as its non-finite fallback."""
    mask = tf.ones([BATCH])

    def one_example_loss(example):
        example = tf.nest.map_structure(lambda t: t[None], example)
        return loss(model(example["image"], training=True), example)[0]

    def exact():
        _, grads = clipping.per_example_gradients(one_example_loss, inputs, variables)
        return clipping.clipped_sum(grads, clip, mask)

    return ghost_clipping.clipped_sum(loss, model, inputs, mask, variables, clip, exact)


def test_the_gram_route_survives_cancellation():
    """Rows with a large common offset against output gradients that sum to zero: <XX^T, GG^T>
    is a small difference of huge terms (in float32 one norm here came out 3.3x too small)."""
    rng = np.random.default_rng(3)
    tokens, d_in, d_out = 64, 32, 256  # tokens^2 <= d_in * d_out: the Gram route
    x = (3.0 + 0.001 * rng.normal(size=(BATCH, tokens, d_in))).astype(np.float32)
    signs = np.where(np.arange(tokens) % 2 == 0, 1.0, -1.0)[None, :, None]
    g = (signs * rng.normal(size=(BATCH, 1, d_out))).astype(np.float32)
    g = np.broadcast_to(g, (BATCH, tokens, d_out)).copy()
    model = _wrap(tf.keras.layers.Dense(d_out, use_bias=False), (tokens, d_in))
    inputs = {"image": tf.constant(x), "target": tf.constant(g)}
    true = np.linalg.norm(
        np.einsum("btd,bte->bde", x.astype(np.float64), g.astype(np.float64)), axis=(1, 2)
    )
    _, _, norms = _ghost(_product_loss, model, inputs, model.trainable_variables)
    np.testing.assert_allclose(norms.numpy(), true, rtol=1e-3)


class _ModelOwnWeight(tf.keras.Model):
    """A weight the model adds itself and uses in its own call: no called layer owns it."""

    def __init__(self):
        super().__init__()
        self.dense = tf.keras.layers.Dense(3)
        self.unused = tf.keras.layers.Dense(3)
        self.unused.build((None, 4))
        self.scale = self.add_weight(name="model_scale", shape=(), initializer="ones")

    def call(self, x):
        return self.dense(x) * self.scale


def test_a_weight_no_called_layer_owns_is_refused_by_name():
    model = _ModelOwnWeight()
    images = _images((4,))
    model(images)
    inputs = {"image": images, "target": tf.zeros([BATCH, 3])}
    with pytest.raises(ghost_clipping.GhostClippingError, match="model_scale.*--clipping=vmap"):
        _ghost(_sum_of_squares_loss, model, inputs, model.trainable_variables)
    # A weight the forward pass never uses has a zero gradient: zero norm and zero sum is exact.
    variables = model.dense.trainable_variables + model.unused.trainable_variables
    _, sums, _ = _ghost(_sum_of_squares_loss, model, inputs, variables)
    assert all(not np.any(s.numpy()) for s in sums[2:])
