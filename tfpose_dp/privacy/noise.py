"""Gaussian noise on the clipped sum, then normalisation by the *expected* batch size.

Noise std is `noise_multiplier * l2_norm_clip` on the sum (the sensitivity of
`clipping.clipped_sum`), drawn once per logical batch. The draw is a pure function of
(noise key, step), the key being the run's secret (privacy/dp_key.py): stateless Philox
streams, so every replica of a distributed run draws the
*same* vector for the same global sum (one noise addition, whatever the replica count), and a
resumed run continues the sequence from the step in its checkpoint. Dividing by the expected
batch size q*N (a public constant), never by the realised count, keeps the normaliser free of
private information.
"""

import tensorflow as tf


def step_key(noise_key, step):
    """Stateless RNG key (shape [2] int64) for one step's noise.

    `noise_key`: two int64 words (DPKey.noise_key(); secret in a real run) or, in tests, an int.
    """
    if isinstance(noise_key, int):
        noise_key = [0x5EED, noise_key]
    base = tf.constant(noise_key, tf.int64)
    return tf.random.experimental.stateless_fold_in(base, tf.cast(step, tf.int64))


def gaussian_noise(like, stddev, key):
    """N(0, stddev^2 I) shaped like each tensor of `like`: one draw of their total size under
    `key`, cut into their shapes (disjoint stretches of one Philox stream are independent). One
    draw, not one per tensor: a 5M model has ~250 tensors, each draw ~10 graph ops to trace."""
    shapes = [g.shape if g.shape.is_fully_defined() else tf.shape(g) for g in like]
    sizes = [g.shape.num_elements() if g.shape.is_fully_defined() else tf.size(g) for g in like]
    total = sum(sizes) if all(isinstance(s, int) for s in sizes) else tf.add_n(sizes)
    flat = tf.random.stateless_normal([total], key, stddev=stddev, dtype=tf.float32)
    pieces = tf.split(flat, sizes if isinstance(total, int) else tf.stack(sizes))
    return [tf.cast(tf.reshape(p, s), g.dtype) for p, s, g in zip(pieces, shapes, like)]


def add_noise(grad_sums, stddev, key):
    """Returns grad_sums + N(0, stddev^2 I) (the draw of `gaussian_noise`)."""
    return [g + z for g, z in zip(grad_sums, gaussian_noise(grad_sums, stddev, key))]


def normalise(noisy_sums, expected_batch_size):
    """Divides by the expected batch size q*N (public), not the number of examples drawn."""
    scale = 1.0 / float(expected_batch_size)
    return [g * scale for g in noisy_sums]
