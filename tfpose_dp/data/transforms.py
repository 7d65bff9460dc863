"""Top-down person crops as in-graph affine warps (MPII conventions of HRNet/mmpose).

The crop box: centre shifted down by 15 px * scale, side scale * 200 * 1.25, widened or
heightened to the input's aspect ratio; then optional augmentation (scale, rotation,
horizontal flip). `crop_to_image` (3x3) maps crop pixels to image pixels; its inverse maps
joints into the crop. Pixel centres sit on integer coordinates (as cv2.warpAffine).
"""

import math

import numpy as np
import tensorflow as tf

BOX_PADDING = 1.25


def fit_aspect(box_w, box_h, input_size):
    """Widens or heightens a (w, h) box to the input's aspect W/H; returns (2,) float32."""
    height, width = input_size
    aspect = width / height
    box_w = tf.convert_to_tensor(box_w, tf.float32)
    box_h = tf.convert_to_tensor(box_h, tf.float32)
    wider = box_w > aspect * box_h
    return tf.stack(
        [tf.where(wider, box_w, box_h * aspect), tf.where(wider, box_w / aspect, box_h)]
    )


def crop_box(center, scale, input_size):
    """MPII centre/scale -> (box centre (2,), box size (w, h)) in image pixels, aspect fixed."""
    center = tf.convert_to_tensor(center, tf.float32)
    scale = tf.convert_to_tensor(scale, tf.float32)
    center = center + tf.stack([0.0, 15.0 * scale])
    side = scale * 200.0 * BOX_PADDING  # MPII boxes are square
    return center, fit_aspect(side, side, input_size)


def bbox_crop(bbox):
    """An x, y, w, h person box -> (centre (2,), size (2,) x1.25, before the aspect fit)."""
    x, y, w, h = (np.asarray(v, np.float32) for v in np.moveaxis(np.asarray(bbox), -1, 0))
    centre = np.stack([x + w / 2.0, y + h / 2.0], -1).astype(np.float32)
    return centre, (np.stack([w, h], -1) * BOX_PADDING).astype(np.float32)


def record_crops(records):
    """(centres (N, 2), sizes (N, 2) before the aspect fit) of each record's crop: a COCO
    record's box (`bbox_crop`), or MPII's square of side scale * 200 * 1.25 about the centre
    shifted down by 15 px * scale (`crop_box`)."""
    if records.boxes is not None:
        return bbox_crop(records.boxes)
    s = records.scales.astype(np.float32)
    centres = records.centers + np.stack([np.zeros_like(s), 15.0 * s], -1)
    side = s * 200.0 * BOX_PADDING
    return centres.astype(np.float32), np.stack([side, side], -1)


def crop_to_image_matrix(center, box_size, input_size, rotation_deg=0.0, flip=False):
    """3x3 matrix taking homogeneous crop pixels (u, v, 1) to image pixels (x, y, 1)."""
    height, width = input_size
    k = box_size[0] / width  # pixels of image per crop pixel (same on both axes)
    r = tf.cast(rotation_deg, tf.float32) * (math.pi / 180.0)
    c, s = tf.cos(r) * k, tf.sin(r) * k
    sign = tf.where(tf.cast(flip, tf.bool), -1.0, 1.0)
    # u' = sign * (u - W/2) for flip (mirror about the crop centre), v' = v - H/2.
    a = tf.stack(
        [
            tf.stack([c * sign, -s, center[0] - c * sign * width / 2.0 + s * height / 2.0]),
            tf.stack([s * sign, c, center[1] - s * sign * width / 2.0 - c * height / 2.0]),
            tf.constant([0.0, 0.0, 1.0]),
        ]
    )
    return a


def warp_image(image, crop_to_image, input_size):
    """Bilinear warp of `image` (H, W, 3 uint8/float) into the crop (h, w, 3), float32 0..255."""
    height, width = input_size
    m = crop_to_image
    transform = tf.stack([m[0, 0], m[0, 1], m[0, 2], m[1, 0], m[1, 1], m[1, 2], 0.0, 0.0])
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(image, tf.float32)[None],
        transforms=transform[None],
        output_shape=tf.constant([height, width], tf.int32),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return out[0]


def transform_points(points, matrix):
    """Applies a 3x3 affine matrix to (..., 2) points."""
    points = tf.convert_to_tensor(points, tf.float32)
    return tf.einsum("ij,...j->...i", matrix[:2, :2], points) + matrix[:2, 2]
