"""Training augmentation: what to draw (seeded, stateless) and how to apply it to a crop.

Geometry follows the HRNet/mmpose MPII recipe: box scale +-25 %, rotation +-30 deg with
probability 0.6, horizontal flip 0.5, and optional half-body crops (a box around the
visible upper or lower body, x1.5). Photometric jitter: brightness, contrast, saturation and
hue (mmpose's colour jitter). Every random value is drawn from a stateless seed, so the crops of
a run depend only on (seed, step, record key) and a resumed or re-sharded run sees the same
crops.
"""

import dataclasses

import tensorflow as tf

from tfpose_dp.data import transforms

_RANDOM_VALUES = 14


@dataclasses.dataclass
class AugmentConfig:
    """Training augmentation; defaults are the HRNet/mmpose MPII ones (half-body off, as there)."""

    scale_factor: float = 0.25
    rotation_deg: float = 30.0
    rotation_prob: float = 0.6
    flip_prob: float = 0.5
    half_body_prob: float = 0.0
    half_body_min_joints: int = (
        8  # a person needs more visible joints than this for a half-body crop
    )
    photometric: bool = True
    brightness: float = 32.0  # +- pixel values
    contrast: float = 0.3  # factor in [1 - c, 1 + c]
    saturation: float = 0.3
    hue: float = 0.05  # +- fraction of the hue circle
    photometric_op_prob: float = 0.5  # each colour op applies with this probability (as mmpose's)


def draw(seed, step, key):
    """(NUM,) uniforms in [0, 1) for one example, a pure function of (seed, step, key): the
    key is the record's (pipeline.augmentation_keys), never its position."""
    key = tf.stack(
        [tf.cast(seed, tf.int64) * 1_000_003 + tf.cast(step, tf.int64), tf.cast(key, tf.int64)]
    )
    return tf.random.stateless_uniform([_RANDOM_VALUES], seed=key)


def half_body_box(joints, visible, input_size, choose_upper, min_joints, upper):
    """(usable, centre, box size) of a box around the visible upper or lower body (HRNet's rule).

    The upper body is taken when chosen and it has more than two visible joints, otherwise the
    lower body; usable only when the person has more than `min_joints` visible joints and the
    chosen half at least two. `upper`: (K,) bool, the skeleton's upper-body joints.
    """
    seen = visible > 0
    n_upper = tf.reduce_sum(tf.cast(seen & upper, tf.int32))
    n_lower = tf.reduce_sum(tf.cast(seen & ~upper, tf.int32))
    take_upper = (choose_upper & (n_upper > 2)) | (n_lower < 2)
    chosen = seen & tf.where(take_upper, upper, ~upper)
    count = tf.reduce_sum(tf.cast(chosen, tf.float32))
    usable = (tf.reduce_sum(tf.cast(seen, tf.int32)) > min_joints) & (count >= 2.0)
    big = tf.constant(1e9)
    lo = tf.reduce_min(tf.where(chosen[:, None], joints, big), axis=0)
    hi = tf.reduce_max(tf.where(chosen[:, None], joints, -big), axis=0)
    centre = tf.reduce_sum(tf.where(chosen[:, None], joints, 0.0), axis=0) / tf.maximum(count, 1.0)
    box = transforms.fit_aspect(hi[0] - lo[0], hi[1] - lo[1], input_size) * 1.5
    return usable, centre, box


def geometry(config, u, center, box, joints, visible, input_size, upper_body):
    """Applies half-body, scale, rotation and flip draws -> (centre, box, rotation_deg, flip)."""
    if config.half_body_prob > 0:
        usable, hb_centre, hb_box = half_body_box(
            joints, visible, input_size, u[0] < 0.5, config.half_body_min_joints, upper_body
        )
        use = usable & (u[1] < config.half_body_prob)
        center, box = tf.where(use, hb_centre, center), tf.where(use, hb_box, box)
    s = config.scale_factor
    box = box * tf.clip_by_value(1.0 + s * (2.0 * u[2] - 1.0), 1.0 - s, 1.0 + s)
    rotation = tf.where(u[3] < config.rotation_prob, config.rotation_deg * (2.0 * u[4] - 1.0), 0.0)
    flip = u[5] < config.flip_prob
    return center, box, rotation, flip


class Photometric:
    """Colour jitter of a (H, W, 3) [0, 255] crop: brightness, contrast, saturation and hue,
    each applied with probability `photometric_op_prob`, amounts from the draws `u`."""

    def __init__(self, config):
        self.config = config

    def __call__(self, crop, u):
        c = self.config
        steps = (
            lambda im: brightness(im, c.brightness * (2.0 * u[6] - 1.0)),
            lambda im: contrast(im, 1.0 + c.contrast * (2.0 * u[7] - 1.0)),
            lambda im: saturation(im, 1.0 + c.saturation * (2.0 * u[8] - 1.0)),
            lambda im: hue(im, c.hue * (2.0 * u[9] - 1.0)),
        )
        image = crop
        for k, step in enumerate(steps):  # a skipped op costs nothing (the HSV ones are dear)
            image = tf.cond(
                u[10 + k] < c.photometric_op_prob,
                lambda im=image, f=step: f(im),
                lambda im=image: im,
            )
        return tf.clip_by_value(image, 0.0, 255.0)


def brightness(image, delta):
    """`delta` added to every channel ([0, 255] pixels), clipped to [0, 255]."""
    return tf.clip_by_value(image + delta, 0.0, 255.0)


def contrast(image, factor):
    """Each pixel's distance from the channel's mean over the image scaled by `factor`."""
    mean = tf.reduce_mean(image, axis=(0, 1), keepdims=True)
    return tf.clip_by_value((image - mean) * factor + mean, 0.0, 255.0)


def saturation(image, factor):
    """HSV saturation times `factor` (0: grey, 1: unchanged), clipped to [0, 1]. Hue and
    saturation do not depend on the value's scale, so [0, 255] pixels need no rescaling."""
    h, s, v = tf.unstack(tf.image.rgb_to_hsv(image), axis=-1)
    return tf.image.hsv_to_rgb(tf.stack([h, tf.clip_by_value(s * factor, 0.0, 1.0), v], -1))


def hue(image, delta):
    """The hue turned by `delta` of the circle (-0.5..0.5), on [0, 1] values."""
    h, s, v = tf.unstack(tf.image.rgb_to_hsv(image / 255.0), axis=-1)
    h = h + delta
    h = tf.where(h > 1.0, h - 1.0, tf.where(h < 0.0, h + 1.0, h))
    return tf.clip_by_value(tf.image.hsv_to_rgb(tf.stack([h, s, v], -1)), 0.0, 1.0) * 255.0
