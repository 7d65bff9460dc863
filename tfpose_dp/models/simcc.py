"""SimCC (Li et al., ECCV 2022): keypoints as two 1-D classifications, one per axis.

Head: 1x1 conv to K joint maps, flatten each map, one Dense per axis -> logits over
W*split_ratio x-bins and H*split_ratio y-bins (mmpose's SimCCHead without deconv: it
keeps the head tiny, ~0.04M parameters at 256x192, which matters under DP where every
trainable parameter adds noise dimensions). `maps_per_joint` > 1 gives each joint several
maps (flattened together): at small inputs a (H/32 x W/32) map alone is too coarse to
carry a position (e.g. 3x3 at 96x72).
Codec: Gaussian 1-D labels; decode by argmax / split_ratio.
Loss: KL(labels || softmax(logits / temperature)), masked, one value per example.
"""

import tensorflow as tf

from tfpose_dp.skeleton import MPII16


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class SimCCHead(tf.keras.layers.Layer):
    """Backbone features (B, h, w, C) -> {"simcc_x": (B, K, Wx), "simcc_y": (B, K, Hy)}."""

    def __init__(self, num_joints, input_size, split_ratio=2.0, maps_per_joint=1, **kwargs):
        super().__init__(**kwargs)
        self.num_joints, self.input_size, self.split_ratio = (
            num_joints,
            tuple(input_size),
            split_ratio,
        )
        self.maps_per_joint = maps_per_joint
        height, width = self.input_size
        self.final_layer = tf.keras.layers.Conv2D(
            num_joints * maps_per_joint, 1, name="final_layer"
        )
        self.mlp_head_x = tf.keras.layers.Dense(int(width * split_ratio), name="mlp_head_x")
        self.mlp_head_y = tf.keras.layers.Dense(int(height * split_ratio), name="mlp_head_y")

    def build(self, input_shape):
        self.final_layer.build(input_shape)
        super().build(input_shape)

    def call(self, features):
        # 1x1 conv as a matmul (same weights): its per-example gradient vectorises.
        maps = (
            tf.einsum("bhwc,ck->bhwk", features, self.final_layer.kernel[0, 0])
            + self.final_layer.bias
        )
        h, w = maps.shape[1], maps.shape[2]
        flat = tf.reshape(
            tf.transpose(maps, [0, 3, 1, 2]), [-1, self.num_joints, self.maps_per_joint * h * w]
        )
        return {"simcc_x": self.mlp_head_x(flat), "simcc_y": self.mlp_head_y(flat)}

    def get_config(self):
        return {
            **super().get_config(),
            "num_joints": self.num_joints,
            "input_size": list(self.input_size),
            "split_ratio": self.split_ratio,
            "maps_per_joint": self.maps_per_joint,
        }


class SimCCCodec:
    """Encodes crop-pixel keypoints into 1-D Gaussian labels and decodes logits back.

    Args:
      input_size: (H, W) of the crop.
      split_ratio: bins per pixel.
      sigma: Gaussian std in bins, a number or (sigma_x, sigma_y); default scales
        mmpose's RTMPose setting (4.9, 5.66) at 256x192 with the input size.
      skeleton: the keypoint set the model predicts (joint order, flip pairs, limbs).
    """

    def __init__(self, input_size, split_ratio=2.0, sigma=None, skeleton=MPII16):
        self.input_size = tuple(input_size)
        self.skeleton = skeleton
        self.split_ratio = float(split_ratio)
        height, width = self.input_size
        self.bins_x, self.bins_y = int(width * split_ratio), int(height * split_ratio)
        if sigma is None:
            sigma = (max(4.9 * width / 192.0, 1.0), max(5.66 * height / 256.0, 1.0))
        self.sigma = (
            (float(sigma), float(sigma)) if isinstance(sigma, (int, float)) else tuple(sigma)
        )

    def encode(self, keypoints, visible):
        """keypoints (..., K, 2) crop pixels, visible (..., K) -> (target_x, target_y, weights).

        Labels are normalised to sum 1 per joint and axis. A joint gets weight 0 when it is
        invisible or its Gaussian centre falls outside the crop. Works eagerly and in tf.data.
        """
        keypoints = tf.convert_to_tensor(keypoints, tf.float32)
        mu = keypoints * self.split_ratio
        inside = (
            (mu[..., 0] >= 0)
            & (mu[..., 0] <= self.bins_x - 1)
            & (mu[..., 1] >= 0)
            & (mu[..., 1] <= self.bins_y - 1)
        )
        weights = tf.cast(inside, tf.float32) * tf.cast(
            tf.convert_to_tensor(visible) > 0, tf.float32
        )
        target_x = self._gaussian(mu[..., 0], self.bins_x, self.sigma[0])
        target_y = self._gaussian(mu[..., 1], self.bins_y, self.sigma[1])
        return target_x, target_y, weights

    @staticmethod
    def _gaussian(mu, bins, sigma):
        grid = tf.range(bins, dtype=tf.float32)
        g = tf.exp(-tf.square(grid - mu[..., None]) / (2.0 * sigma**2))
        return g / tf.maximum(tf.reduce_sum(g, -1, keepdims=True), 1e-12)

    def decode(self, simcc_x, simcc_y):
        """Logits (..., K, bins) -> keypoints (..., K, 2) in crop pixels, scores (..., K)."""
        x = tf.cast(tf.argmax(simcc_x, -1), tf.float32) / self.split_ratio
        y = tf.cast(tf.argmax(simcc_y, -1), tf.float32) / self.split_ratio
        score = tf.minimum(
            tf.reduce_max(tf.nn.softmax(simcc_x, -1), -1),
            tf.reduce_max(tf.nn.softmax(simcc_y, -1), -1),
        )
        return tf.stack([x, y], -1), score


def simcc_kl(labels, logits, temperature=1.0):
    """KL(labels || softmax(logits / T)) over the bins of one axis, per joint: (B, K)."""
    log_p = tf.nn.log_softmax(logits / temperature, -1)
    entropy_term = tf.math.xlogy(labels, labels)  # 0 where labels == 0
    return tf.reduce_sum(entropy_term - labels * log_p, -1)


def simcc_per_example_loss(target_x, target_y, weights, simcc_x, simcc_y, temperature=1.0):
    """Masked KL loss, shape (B,): mean over joints of KL_x + KL_y, times joint weight.

    Per-example (no reduction over the batch) because DP clipping needs one loss per example.
    """
    kl_x, kl_y = simcc_kl(target_x, simcc_x, temperature), simcc_kl(target_y, simcc_y, temperature)
    return tf.reduce_mean((kl_x + kl_y) * weights, -1)


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class SimCCAxisLoss(tf.keras.losses.Loss):
    """The SimCC loss of one axis as a Keras loss, per example and joint (B, K): compile a pose
    model with {"simcc_x": SimCCAxisLoss(), "simcc_y": SimCCAxisLoss()} and targets whose rows
    are zero for unlabelled joints (PoseEstimator.crop_and_targets); the per-example mean over
    joints of the two terms is `simcc_per_example_loss`. Reduction NONE by default, as
    `fit` with a DP optimizer needs."""

    def __init__(self, temperature=1.0, reduction=tf.keras.losses.Reduction.NONE, name="simcc"):
        super().__init__(reduction=reduction, name=name)
        self.temperature = float(temperature)

    def call(self, y_true, y_pred):
        return simcc_kl(y_true, y_pred, self.temperature)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}
