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

from tfpose_dp.privacy import clipping

NOISE_FACTOR = math.sqrt(2.0)  # each part's noise multiplier / the plan's sigma


def split_clip_sum(per_example_grads, basis_blocks, embedding_clip, residual_clip, mask):
    """(sum of clipped coordinates (R,), sums of clipped residuals aligned with the variables).

    `per_example_grads`: list of (B, *shape); `basis_blocks`: the basis as one (R, p_v) block
    per variable (projection.py), orthonormal rows overall (or zero). Non-finite examples and
    masked (padding) examples contribute zero. Works a variable at a time: no (B, p) copy.
    """
    batch = tf.shape(per_example_grads[0])[0]
    rows = [tf.reshape(g, [batch, -1]) for g in per_example_grads]
    finite = tf.reduce_all(
        tf.stack([tf.reduce_all(tf.math.is_finite(r), axis=1) for r in rows]), axis=0
    )  # a non-finite example adds zero
    rows = [tf.where(finite[:, None], r, tf.zeros_like(r)) for r in rows]
    mask = tf.cast(mask, tf.float32) * tf.cast(finite, tf.float32)
    coords = tf.add_n([tf.matmul(r, b, transpose_b=True) for r, b in zip(rows, basis_blocks)])
    residual = [r - tf.matmul(coords, b) for r, b in zip(rows, basis_blocks)]
    residual_norms = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(r), axis=1) for r in residual]))
    coord_factors = clipping.clip_factors(tf.norm(coords, axis=1), embedding_clip, mask)
    residual_factors = clipping.clip_factors(residual_norms, residual_clip, mask)
    coord_sum = tf.tensordot(coord_factors, coords, axes=1)
    residual_sums = [
        tf.reshape(tf.tensordot(residual_factors, r, axes=1), tf.shape(g)[1:])
        for r, g in zip(residual, per_example_grads)
    ]
    return coord_sum, residual_sums
