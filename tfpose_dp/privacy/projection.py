"""PDP-SGD (Zhou, Wu, Banerjee, ICLR 2021): project the noisy gradient onto the top-k
eigenspace of the gradient second moment of *public* examples.

M = (1/m) sum_i g_i g_i^T over m public per-example gradients g_i (p-dim). With G the
(m, p) matrix of those gradients, G G^T = U diag(lambda) U^T (m x m, cheap) and the
eigenvectors of G^T G with nonzero eigenvalues are V = G^T U diag(lambda)^-1/2 (the Gram
trick); 1/m scales eigenvalues only. The projection V V^T g~ of the noisy gradient uses
no private data, so it is post-processing and costs no privacy, provided the public
examples are not private training examples (the trainer enforces disjointness).
"""
import numpy as np
import tensorflow as tf


def flatten(tensors):
    return tf.concat([tf.reshape(t, [-1]) for t in tensors], 0)


def unflatten(vector, like):
    out, offset = [], 0
    for t in like:
        size = int(np.prod(t.shape))
        out.append(tf.reshape(vector[offset:offset + size], t.shape))
        offset += size
    return out


def top_eigenbasis(gradients, k, rel_tol=1e-6):
    """Orthonormal (p, r) basis of the top-r eigenvectors of G^T G, r = min(k, rank).

    Args:
      gradients: (m, p) float32, one public per-example gradient per row.
      k: requested dimension.
      rel_tol: eigenvalues below rel_tol * largest are treated as zero (rank deficiency).
    """
    g = tf.convert_to_tensor(gradients, tf.float32)
    gram = tf.matmul(g, g, transpose_b=True)
    gram = tf.cast(gram, tf.float64)  # eigh in double: tiny eigenvalues stay well-conditioned
    evals, evecs = tf.linalg.eigh((gram + tf.transpose(gram)) / 2.0)
    evals, evecs = tf.reverse(evals, [0]), tf.reverse(evecs, [1])  # descending
    keep = evals > rel_tol * tf.maximum(evals[0], 1e-30)
    r = tf.minimum(tf.cast(k, tf.int32), tf.reduce_sum(tf.cast(keep, tf.int32)))
    u = tf.cast(evecs[:, :r] * tf.math.rsqrt(evals[:r])[None, :], tf.float32)
    return tf.matmul(g, u, transpose_a=True)  # (p, r) in float32: p x k doubles would not fit


def basis_bytes(num_params, k):
    """Memory of the (p, k) float32 basis; the public gradients (m, p) need as much again."""
    return 4 * int(num_params) * int(k)


class SubspaceProjection:
    """Holds the basis V (p, k) as a variable and projects gradient lists onto it.

    Call `set_basis(v)` after each refresh. Until the first refresh the projection is the
    identity (PDP starts at --projection_start_epoch). `captured_energy` is
    ||V^T g~||^2 / ||g~||^2 of the last *noisy* gradient: post-processing, releasable.
    """

    def __init__(self, num_params, k):
        self.num_params, self.k = int(num_params), int(k)
        self.basis = tf.Variable(tf.zeros([self.num_params, self.k]), trainable=False,
                                 name="pdp_basis")
        self.active = tf.Variable(False, trainable=False, name="pdp_active")
        # Written inside the (replicated) update; every replica computes the same value.
        self.captured_energy = tf.Variable(1.0, trainable=False, name="pdp_captured_energy",
                                           aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def set_basis(self, v):
        r = v.shape[1]
        padded = tf.pad(v, [[0, 0], [0, self.k - r]])  # rank < k: zero columns project nothing
        self.basis.assign(padded)
        self.active.assign(True)

    def __call__(self, grads):
        def project():
            flat = flatten(grads)
            coords = tf.linalg.matvec(self.basis, flat, transpose_a=True)
            energy = tf.reduce_sum(tf.square(coords)) / tf.maximum(tf.reduce_sum(tf.square(flat)), 1e-30)
            return [energy] + unflatten(tf.linalg.matvec(self.basis, coords), grads)

        out = tf.cond(self.active, project, lambda: [tf.constant(1.0)] + [tf.identity(g) for g in grads])
        # Assigned outside the cond: under a distribution strategy the write is a sync point.
        self.captured_energy.assign(out[0])
        return out[1:]
