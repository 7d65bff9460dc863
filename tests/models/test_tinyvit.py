import math

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.models import tinyvit_layers
from tfpose_dp.models.norms import FrozenBatchNorm
from tfpose_dp.models.tinyvit import VARIANTS, build_backbone

CHANNELS = {"tiny_vit_5m": 320, "tiny_vit_11m": 448, "tiny_vit_21m": 576, "tiny_vit_micro": 64}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("size", [(64, 48), (70, 45)])
def test_output_shape_is_ceil_of_stride_32(variant, size):
    model = build_backbone(variant, (*size, 3))
    out = model(tf.zeros((2, *size, 3)))
    assert out.shape == (2, math.ceil(size[0] / 32), math.ceil(size[1] / 32), CHANNELS[variant])


def test_window_padding_handles_sizes_that_are_not_window_multiples():
    block = tinyvit_layers.TinyViTBlock(16, 2, window=4)
    x = tf.random.normal((1, 5, 7, 16))
    assert block(x).shape == (1, 5, 7, 16)


def test_frozen_batchnorm_ignores_batch_statistics():
    layer = FrozenBatchNorm()
    x = tf.random.normal((8, 4, 4, 3)) * 5.0 + 2.0
    np.testing.assert_allclose(layer(x, training=True).numpy(), layer(x, training=False).numpy())
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.0)  # never updated


def test_backbone_training_and_inference_agree_with_frozen_bn():
    model = build_backbone("tiny_vit_micro", (64, 48, 3), norm="frozen_bn")
    x = tf.random.normal((3, 64, 48, 3))
    np.testing.assert_allclose(
        model(x, training=True).numpy(), model(x, training=False).numpy(), atol=1e-5
    )


def test_examples_are_independent_with_group_norm():
    model = build_backbone("tiny_vit_micro", (64, 48, 3), norm="group")
    x = tf.random.normal((3, 64, 48, 3))
    alone = model(x[:1], training=True)
    together = model(x, training=True)[:1]
    np.testing.assert_allclose(alone.numpy(), together.numpy(), atol=1e-5)


@pytest.mark.parametrize(
    "layer",
    [
        tinyvit_layers.ConvNorm(8, 3, 2, norm="group"),
        tinyvit_layers.MBConv(8, norm="frozen_bn"),
        tinyvit_layers.PatchMerging(16),
        tinyvit_layers.PatchEmbed(16),
        tinyvit_layers.TinyViTBlock(16, 2, 4, drop_path=0.1),
        tinyvit_layers.DropPath(0.2),
    ],
)
def test_layer_get_config_round_trip(layer):
    clone = layer.__class__.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_relative_position_bias_uses_absolute_offsets():
    idx = tinyvit_layers.relative_position_index(3)
    assert idx.shape == (9, 9) and idx.max() == 8
    np.testing.assert_array_equal(idx, idx.T)
    assert idx[0, 8] == 2 * 3 + 2  # (0,0)->(2,2)
