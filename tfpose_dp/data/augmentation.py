"""Training augmentation: what to draw (seeded, stateless) and how to apply it to a crop.

Geometry follows the HRNet/mmpose MPII recipe: box scale +-25 %, rotation +-30 deg with
probability 0.6, horizontal flip 0.5, and optional half-body crops (a box around the
visible upper or lower body, x1.5). Photometric jitter uses keras-cv's brightness, contrast,
saturation and hue ops; their random values are drawn here from a stateless seed rather than
by the layers' own generators, so the crops of a run depend only on (seed, step, index) and a
resumed or re-sharded run sees the same crops.
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
    """Colour jitter of a (H, W, 3) [0, 255] crop with keras-cv's ops and our own draws."""

    def __init__(self, config):
        import keras_cv  # heavy; only training needs it

        self.config = config
        rng = (0.0, 255.0)
        self._ops = (
            keras_cv.layers.RandomBrightness(factor=0.0, value_range=rng),
            keras_cv.layers.RandomContrast(factor=0.0, value_range=rng),
            keras_cv.layers.RandomSaturation(factor=(0.5, 0.5)),
            keras_cv.layers.RandomHue(factor=0.0, value_range=rng),
        )

    def __call__(self, crop, u):
        c = self.config
        brightness, contrast, saturation, hue = self._ops
        # keras-cv's saturation transformation x maps to the factor x / (1 - x).
        sat = 1.0 + c.saturation * (2.0 * u[8] - 1.0)
        steps = (
            lambda im: brightness.augment_images(im, c.brightness * (2.0 * u[6] - 1.0)),
            lambda im: contrast.augment_images(im, 1.0 + c.contrast * (2.0 * u[7] - 1.0)),
            lambda im: saturation.augment_images(im, tf.reshape(sat / (1.0 + sat), [1])),
            lambda im: hue.augment_images(im, tf.reshape(c.hue * (2.0 * u[9] - 1.0), [1])),
        )
        images = crop[None]
        for k, step in enumerate(
            steps
        ):  # skipped ops cost nothing (the HSV ones are the dear ones)
            images = tf.cond(
                u[10 + k] < c.photometric_op_prob,
                lambda im=images, f=step: f(im),
                lambda im=images: im,
            )
        return tf.clip_by_value(images[0], 0.0, 255.0)
