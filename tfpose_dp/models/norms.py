"""Normalisation layers that are safe under DP-SGD.

BatchNorm statistics computed on a private batch mix examples, so a per-example
gradient would depend on other examples and the batch statistics themselves would
leak. Two choices, both per-example:

* ``frozen_bn`` (default): BatchNorm that always uses its stored (pretrained or
  initial) moving statistics, in training too; scale and offset stay trainable.
  Compatible with pretrained TinyViT weights.
* ``group``: GroupNorm (8 groups, or fewer when the channels do not divide), which
  normalises each example on its own; use it when training from scratch.
"""

import math

import tensorflow as tf

NORM_CHOICES = ("frozen_bn", "group")
_EPS = 1e-5


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class FrozenBatchNorm(tf.keras.layers.BatchNormalization):
    """BatchNormalization that never uses or updates batch statistics."""

    uses_batch_statistics = False  # read by privacy/keras_fit.py

    def call(self, inputs, training=None):
        return super().call(inputs, training=False)


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class GroupNormalization(tf.keras.layers.GroupNormalization):
    """Keras's GroupNormalization (same name, weights, config and checkpoints) computed with static
    shapes and plain moments when the channels are last, there is no mask and every dimension
    but the batch is known: ~10 ops instead of ~60. Every private step differentiates each
    example through every norm layer, so the graph's size is the trace's time."""

    def call(self, inputs, mask=None):
        dims = inputs.shape.as_list()[1:]
        if mask is not None or None in dims or self.axis not in (-1, len(dims)):
            return super().call(inputs, mask)
        grouped = tf.reshape(inputs, [-1, *dims[:-1], self.groups, dims[-1] // self.groups])
        axes = [*range(1, len(dims)), len(dims) + 1]  # all but the batch and the group
        mean, variance = tf.nn.moments(grouped, axes, keepdims=True)
        normalised = tf.reshape(
            (grouped - mean) * tf.math.rsqrt(variance + self.epsilon), [-1, *dims]
        )
        if self.scale:
            normalised *= self.gamma
        return normalised + self.beta if self.center else normalised


def make_norm(norm, channels, zero_init=False, name=None):
    """Returns the normalisation layer named by `norm` for `channels` features."""
    gamma = "zeros" if zero_init else "ones"
    if norm == "frozen_bn":
        return FrozenBatchNorm(epsilon=_EPS, gamma_initializer=gamma, name=name)
    if norm == "group":
        groups = math.gcd(channels, 8)
        return GroupNormalization(groups=groups, epsilon=_EPS, gamma_initializer=gamma, name=name)
    raise ValueError(f"norm must be one of {NORM_CHOICES}, got {norm!r}")


def is_norm_layer(layer):
    return isinstance(
        layer,
        (
            tf.keras.layers.BatchNormalization,
            tf.keras.layers.GroupNormalization,
            tf.keras.layers.LayerNormalization,
        ),
    )
