"""Gaussian noise on the clipped sum, then normalisation by the *expected* batch size.

Noise std is `noise_multiplier * l2_norm_clip` on the sum (the sensitivity of
`clipping.clipped_sum`), drawn once per logical batch. The draw is a pure function of
(noise seed, step): stateless Philox streams, so every replica of a distributed run draws the
*same* vector for the same global sum (one noise addition, whatever the replica count), and a
resumed run continues the sequence from the step in its checkpoint. Dividing by the expected
batch size q*N (a public constant), never by the realised count, keeps the normaliser free of
private information.
"""
import tensorflow as tf


def step_key(seed, step):
    """Stateless RNG key for one step's noise (shape [2] int64)."""
    base = tf.constant([0x5EED, 0], tf.int64) + tf.cast(tf.stack([0, seed]), tf.int64)
    return tf.random.experimental.stateless_fold_in(base, tf.cast(step, tf.int64))


def add_noise(grad_sums, stddev, key):
    """Returns grad_sums + N(0, stddev^2 I); tensor i uses the key folded with i."""
    return [g + tf.random.stateless_normal(tf.shape(g), tf.random.experimental.stateless_fold_in(key, i),
                                           stddev=stddev, dtype=g.dtype)
            for i, g in enumerate(grad_sums)]


def normalise(noisy_sums, expected_batch_size):
    """Divides by the expected batch size q*N (public), not the number of examples drawn."""
    scale = 1.0 / float(expected_batch_size)
    return [g * scale for g in noisy_sums]
