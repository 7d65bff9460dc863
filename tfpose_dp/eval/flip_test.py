"""Flip test: average the SimCC logits of a crop and of its mirror image (joints swapped)."""

import tensorflow as tf


def unflip_logits(simcc_x, simcc_y, codec):
    """Logits predicted on a mirrored crop -> logits for the original crop.

    Mirroring maps pixel u to W-1-u, i.e. bin b to (bins - split_ratio) - b: reverse the
    x bins, shift by split_ratio - 1 bins, and swap left/right joints. y is unchanged.
    """
    perm = codec.skeleton.flip_permutation()
    shift = int(round(codec.split_ratio)) - 1
    x = tf.roll(tf.reverse(simcc_x, [-1]), shift=-shift, axis=-1)
    return tf.gather(x, perm, axis=-2), tf.gather(simcc_y, perm, axis=-2)


def simcc_logits(model, images, codec, flip_test):
    """(simcc_x, simcc_y) of `images`, flip-test averaged when `flip_test`."""
    if flip_test:
        return flip_test_logits(model, images, codec)
    out = model(images, training=False)
    return out["simcc_x"], out["simcc_y"]


def flip_test_logits(model, images, codec):
    """Mean of the logits on `images` and on their mirror images (mapped back); both views
    run as one batch (one call: what an exported graph with the flip test inside does)."""
    return single_and_flip_test_logits(model, images, codec)[1]


def single_and_flip_test_logits(model, images, codec):
    """((x, y) of the single pass, (x, y) flip-test averaged) from one call on both views."""
    n = tf.shape(images)[0]
    out = model(tf.concat([images, tf.reverse(images, [2])], 0), training=False)
    x, y = out["simcc_x"][:n], out["simcc_y"][:n]
    fx, fy = unflip_logits(out["simcc_x"][n:], out["simcc_y"][n:], codec)
    return (x, y), ((x + fx) / 2.0, (y + fy) / 2.0)
