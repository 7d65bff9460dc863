"""The model's first layer: RGB pixels in [0, 255] -> ImageNet-normalised floats.

The one place normalisation happens: training crops, evaluation, `tfpose_dp.load(...).predict`,
and the exported graphs all feed pixels, so a caller cannot give the model the wrong scale.
TinyViT's published weights (timm) expect these statistics.
"""

import tensorflow as tf

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class ImageNetNormalise(tf.keras.layers.Layer):
    """(x / 255 - mean) / std per channel; no weights."""

    def call(self, pixels):
        mean = tf.constant(IMAGENET_MEAN, pixels.dtype)
        std = tf.constant(IMAGENET_STD, pixels.dtype)
        return (pixels / 255.0 - mean) / std
