"""The top-k eigenbasis of public gradients' second moment, by the Gram trick.

M = (1/m) sum_i g_i g_i^T over m public per-example gradients g_i (p-dim). With G the
(m, p) matrix of those gradients, G G^T = U diag(lambda) U^T (m x m, cheap) and the
eigenvectors of G^T G with nonzero eigenvalues are V = G^T U diag(lambda)^-1/2; 1/m scales
eigenvalues only. G is taken as column blocks (one per variable), never concatenated.
`top_eigenbasis` returns V whole (the reference, and tools); SubspaceProjection.refresh
(projection.py) builds the same basis in place of the public gradients, block by block.
"""

import numpy as np
import tensorflow as tf


def _column_blocks(gradients, width=1 << 20):
    """The public gradients as (m, p_b) float32 column blocks, in order. A list is taken as
    given (the trainer passes one block per variable, never concatenated, and a slice of a
    wide variable would be a copy held through the whole solution: 2 GB for TinyViT-21M's last
    stage); a matrix is cut into slices of <= `width` columns."""
    if isinstance(gradients, (list, tuple)):
        return [tf.convert_to_tensor(block, tf.float32) for block in gradients]
    matrix = tf.convert_to_tensor(gradients, tf.float32)
    return [matrix[:, start : start + width] for start in range(0, int(matrix.shape[1]), width)]


@tf.function(reduce_retracing=True)
def _gram(blocks):
    """G G^T: each block's float32 product summed in float64. Independent products of
    blocks run in parallel; a float32 sum over 1.4M columns (TinyViT-21M's widest variable)
    keeps 3e-6 relative error (float64 products throughout were 4x slower on CPU)."""
    return tf.add_n([tf.cast(tf.matmul(b, b, transpose_b=True), tf.float64) for b in blocks])


def _span_rows(blocks, w):
    """V^T = w^T G, block by block: (r, p_b) rows, the blocks' own layout (no transposes)."""
    return [tf.matmul(w, b, transpose_a=True) for b in blocks]


@tf.function(reduce_retracing=True)
def _span_gram(blocks, w):
    """C = V^T V of V = G^T w, block by block; no block of V outlives its term."""
    return tf.add_n(
        [tf.cast(tf.matmul(v, v, transpose_b=True), tf.float64) for v in _span_rows(blocks, w)]
    )


@tf.function(reduce_retracing=True)
def basis_rows(blocks, w, correction, rows):
    """The rows of (V S)^T, block by block, each (rows, p_b): the basis's r rows, then zeros
    (V = G^T w recomputed: the same float32 rounding that S corrects; S is symmetric)."""
    r = tf.shape(correction)[0]
    padded = tf.pad(correction, [[0, rows - r], [0, 0]])  # (rows, r): no padded copy of a block
    return [tf.matmul(padded, v) for v in _span_rows(blocks, w)]


def eigen_solution(gradients, k, rel_tol):
    """(w (m, r), S (r, r), share of ||G||_F^2 held), or w = None when r = 0.

    The basis is V S with V = G^T w, w = U diag(lambda)^-1/2 from the Gram matrix's top-r
    eigenpairs, and S = (V^T V)^-1/2 (Loewdin): the nearest orthonormal basis of the same span,
    which removes the float32 rounding that V leaves in the small directions (2.7e-3 off
    orthonormal at a 1e6 eigenvalue spread without it). V is never held whole: C = V^T V is
    summed block by block and the rows of V S are recomputed for the basis. No read of
    `gradients` outlives the call: a refresh that then replaces them in place (projection.py)
    frees each old block as its new rows are assigned.
    """
    blocks = _column_blocks(gradients)
    gram = _gram(blocks)  # eigh in double: small eigenvalues stay accurate
    evals, evecs = tf.linalg.eigh((gram + tf.transpose(gram)) / 2.0)
    evals, evecs = tf.reverse(evals, [0]), tf.reverse(evecs, [1])  # descending
    keep = evals > rel_tol * tf.maximum(evals[0], 1e-30)
    r = int(tf.minimum(tf.cast(k, tf.int32), tf.reduce_sum(tf.cast(keep, tf.int32))))
    if r == 0:
        return None, None, 0.0
    share = float(tf.reduce_sum(evals[:r]) / tf.linalg.trace(gram))
    w = tf.cast(evecs[:, :r] * tf.math.rsqrt(evals[:r])[None, :], tf.float32)
    c = _span_gram(blocks, w)
    c_evals, c_evecs = tf.linalg.eigh((c + tf.transpose(c)) / 2.0)
    correction = tf.matmul(c_evecs * tf.math.rsqrt(c_evals)[None, :], c_evecs, transpose_b=True)
    return w, tf.cast(correction, tf.float32), share


def top_eigenbasis(gradients, k, rel_tol=1e-6):
    """Orthonormal (p, r) basis of the top-r eigenvectors of G^T G, r = min(k, rank).

    Args:
      gradients: (m, p) float32, one public per-example gradient per row; or a list of
        (m, p_b) column blocks of it (e.g. one per variable, in variable order).
      k: requested dimension.
      rel_tol: eigenvalues below rel_tol * largest are treated as zero (rank deficiency).

    Returns a (p, 0) tensor when every public gradient is zero.
    """
    return top_eigenbasis_and_share(gradients, k, rel_tol)[0]


def top_eigenbasis_and_share(gradients, k, rel_tol=1e-6):
    """`top_eigenbasis` and the share of the public gradients' energy ||G||_F^2 it holds."""
    blocks = _column_blocks(gradients)
    w, correction, share = eigen_solution(blocks, k, rel_tol)
    if w is None:
        return tf.zeros([sum(int(b.shape[1]) for b in blocks), 0], tf.float32), 0.0
    r = int(w.shape[1])
    return tf.concat([tf.transpose(v) for v in basis_rows(blocks, w, correction, r)], 0), share


@tf.function(reduce_retracing=True)
def _energy_in_span(blocks, basis):
    """||G V||_F^2 and ||G||_F^2, block by block (V's rows aligned with G's columns)."""
    offsets = np.cumsum([0] + [int(b.shape[1]) for b in blocks])
    coords = tf.add_n(
        [tf.matmul(b, basis[start:end]) for b, start, end in zip(blocks, offsets, offsets[1:])]
    )
    total = tf.add_n([tf.reduce_sum(tf.square(b)) for b in blocks])
    return tf.reduce_sum(tf.square(coords)), total


def captured_share(gradients, basis):
    """The share of the public gradients' energy ||G||_F^2 inside span(basis) (orthonormal
    columns): with the share a fresh basis holds, how much an older basis still captures."""
    inside, total = _energy_in_span(_column_blocks(gradients), tf.convert_to_tensor(basis))
    return float(inside / tf.maximum(total, 1e-30))
