"""Image bytes -> RGB uint8, the one decoder used for training, evaluation and image checks."""

import tensorflow as tf

JPEG_MAGIC = b"\xff\xd8"


def decode_image(raw, ratio=1):
    """JPEG or PNG bytes -> (H, W, 3) uint8.

    A truncated JPEG decodes as far as it goes (the rest grey), as MPII has a few such files.
    `ratio` (1, 2, 4, 8) downscales JPEGs while decoding; PNGs are always full size.
    """
    is_jpeg = tf.strings.substr(raw, 0, 2) == JPEG_MAGIC
    return tf.cond(
        is_jpeg,
        lambda: tf.io.decode_jpeg(
            raw, channels=3, ratio=ratio, try_recover_truncated=True, acceptable_fraction=0.2
        ),
        lambda: tf.io.decode_png(raw, channels=3),
    )
