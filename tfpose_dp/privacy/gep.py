"""Gradient embedding perturbation (GEP; Yu, Zhang, Chen, Yin, Liu, ICLR 2021): PDP's public
subspace without discarding what lies outside it.

Each per-example gradient g_i is split into its coordinates in the public basis V (p x k),
w_i = V^T g_i, and the residual r_i = g_i - V w_i. The two parts are clipped separately, to
C1 and C2, summed, and each sum gets Gaussian noise with multiplier sqrt(2) sigma:

  W = sum_i clip(w_i, C1) + N(0, 2 sigma^2 C1^2 I_k),
  R = sum_i clip(r_i, C2) + N(0, 2 sigma^2 C2^2 I_p),

and the update is V W + R. Releasing (W, R) is one Gaussian mechanism on the vector
(w_i / C1, r_i / C2), whose L2 sensitivity is sqrt(2) and noise std sqrt(2) sigma: the same
mechanism as DP-SGD with noise multiplier sigma, so the accountant's ledger is DP-SGD's.
With V = 0 (no basis yet) everything is residual, clipped to C2.
"""

import math

import tensorflow as tf

from tfpose_dp.privacy import clipping, projection

NOISE_FACTOR = math.sqrt(2.0)  # each part's noise multiplier / the plan's sigma


def split_clip_sum(per_example_grads, basis, embedding_clip, residual_clip, mask):
    """(sum of clipped coordinates (k,), sums of clipped residuals aligned with the variables).

    `per_example_grads`: list of (B, *shape); `basis`: (p, k) orthonormal (or zero) columns.
    Non-finite examples and masked (padding) examples contribute zero.
    """
    flat = clipping.flatten_per_example(per_example_grads)  # (B, p)
    finite = tf.reduce_all(tf.math.is_finite(flat), axis=1)  # a non-finite example adds zero
    flat = tf.where(finite[:, None], flat, tf.zeros_like(flat))
    mask = tf.cast(mask, flat.dtype) * tf.cast(finite, flat.dtype)
    coords = tf.matmul(flat, basis)  # (B, k)
    residual = flat - tf.matmul(coords, basis, transpose_b=True)

    def clipped_rows_sum(rows, clip):
        return tf.tensordot(clipping.clip_factors(tf.norm(rows, axis=1), clip, mask), rows, axes=1)

    coord_sum = clipped_rows_sum(coords, embedding_clip)
    residual_sum = clipped_rows_sum(residual, residual_clip)
    return coord_sum, projection.unflatten(residual_sum, [g[0] for g in per_example_grads])
