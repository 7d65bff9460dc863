"""Gaussian noise on the clipped sum, then normalisation by the *expected* batch size.

Noise std is `noise_multiplier * l2_norm_clip` on the sum (the sensitivity of
`clipping.clipped_sum`), drawn once per logical batch from a seeded `tf.random.Generator`
whose state is saved in checkpoints. Dividing by the expected batch size q*N (a public
constant), never by the realised count, keeps the normaliser free of private information.
"""
import tensorflow as tf


def add_noise(grad_sums, stddev, generator):
    """Returns grad_sums + N(0, stddev^2 I), drawn from `generator`."""
    return [g + generator.normal(tf.shape(g), stddev=stddev, dtype=g.dtype) for g in grad_sums]


def normalise(noisy_sums, expected_batch_size):
    """Divides by the expected batch size q*N (public), not the number of examples drawn."""
    scale = 1.0 / float(expected_batch_size)
    return [g * scale for g in noisy_sums]
