"""A random batch with SimCC targets for the step benchmarks (same input for every variant)."""

import numpy as np
import tensorflow as tf

from tfpose_dp.models.simcc import SimCCCodec


def random_pose_batch(size, b, seed=0):
    """{image, target_x, target_y, target_weight, mask} for b random poses at input size (H, W)."""
    codec = SimCCCodec(size)
    rng = np.random.default_rng(seed)
    kp = (rng.uniform(0, 1, (b, 16, 2)) * [size[1], size[0]]).astype(np.float32)
    tx, ty, w = codec.encode(kp, np.ones((b, 16), np.float32))
    return {
        "image": tf.constant(rng.normal(size=(b, *size, 3)), tf.float32),
        "target_x": tx,
        "target_y": ty,
        "target_weight": w,
        "mask": tf.ones([b]),
    }
