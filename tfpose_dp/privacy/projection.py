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
from absl import logging


def flatten(tensors):
    return tf.concat([tf.reshape(t, [-1]) for t in tensors], 0)


def unflatten(vector, like):
    out, offset = [], 0
    for t in like:
        size = int(np.prod(t.shape))
        out.append(tf.reshape(vector[offset : offset + size], t.shape))
        offset += size
    return out


def _column_blocks(gradients, width=1 << 20):
    """The public gradients as (m, p_b) float32 column blocks of <= `width` columns, in
    order. A list is taken as given (the trainer passes one block per variable and never
    concatenates the (m, p) matrix), its wider blocks cut; a matrix is cut into slices."""
    given = gradients if isinstance(gradients, (list, tuple)) else [gradients]
    blocks = []
    for block in given:
        block = tf.convert_to_tensor(block, tf.float32)
        cols = int(block.shape[1])
        blocks += [block[:, start : start + width] for start in range(0, cols, width)]
    return blocks


@tf.function(reduce_retracing=True)
def _gram(blocks):
    """G G^T: each block's float32 product summed in float64. Independent products of
    blocks run in parallel; the float32 sums over <= 1M columns keep ~1e-6 relative error
    (float64 products throughout were 4x slower on CPU)."""
    return tf.add_n([tf.cast(tf.matmul(b, b, transpose_b=True), tf.float64) for b in blocks])


def _span_rows(blocks, w):
    return [tf.matmul(b, w, transpose_a=True) for b in blocks]


@tf.function(reduce_retracing=True)
def _span_gram(blocks, w):
    """C = V^T V of V = G^T w, block by block; no block of V outlives its term."""
    return tf.add_n(
        [tf.cast(tf.matmul(v, v, transpose_a=True), tf.float64) for v in _span_rows(blocks, w)]
    )


@tf.function(reduce_retracing=True)
def _basis_rows(blocks, w, correction):
    """The rows of V S, block by block (V = G^T w recomputed: the same float32 rounding that
    S corrects)."""
    return [tf.matmul(v, correction) for v in _span_rows(blocks, w)]


def _eigen_solution(gradients, k, rel_tol):
    """(blocks, w (m, r), S (r, r), share of ||G||_F^2 held), or w = None when r = 0.

    The basis is V S with V = G^T w, w = U diag(lambda)^-1/2 from the Gram matrix's top-r
    eigenpairs, and S = (V^T V)^-1/2 (Loewdin): the nearest orthonormal basis of the same span,
    which removes the float32 rounding that V leaves in the small directions (2.7e-3 off
    orthonormal at a 1e6 eigenvalue spread without it). V is never held whole: C = V^T V is
    summed block by block and the rows of V S are recomputed for the basis.
    """
    blocks = _column_blocks(gradients)
    gram = _gram(blocks)  # eigh in double: small eigenvalues stay accurate
    evals, evecs = tf.linalg.eigh((gram + tf.transpose(gram)) / 2.0)
    evals, evecs = tf.reverse(evals, [0]), tf.reverse(evecs, [1])  # descending
    keep = evals > rel_tol * tf.maximum(evals[0], 1e-30)
    r = int(tf.minimum(tf.cast(k, tf.int32), tf.reduce_sum(tf.cast(keep, tf.int32))))
    if r == 0:
        return blocks, None, None, 0.0
    share = float(tf.reduce_sum(evals[:r]) / tf.linalg.trace(gram))
    w = tf.cast(evecs[:, :r] * tf.math.rsqrt(evals[:r])[None, :], tf.float32)
    c = _span_gram(blocks, w)
    c_evals, c_evecs = tf.linalg.eigh((c + tf.transpose(c)) / 2.0)
    correction = tf.matmul(c_evecs * tf.math.rsqrt(c_evals)[None, :], c_evecs, transpose_b=True)
    return blocks, w, tf.cast(correction, tf.float32), share


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
    blocks, w, correction, share = _eigen_solution(gradients, k, rel_tol)
    if w is None:
        return tf.zeros([sum(int(b.shape[1]) for b in blocks), 0], tf.float32), 0.0
    return tf.concat(_basis_rows(blocks, w, correction), 0), share


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


def refresh_bytes(num_params, k, m):
    """Memory a refresh holds at once, above the model's own: the (p, k) float32 basis
    variable, the new basis's row blocks and their concatenation, and the (m, p) public
    gradients. Measured at p = 5.1M, k = m = 100 (7.6 GB by this count, GB = 2^30 bytes),
    the process's resident memory grew by ~10.3 GB: the allocator's slack comes on top."""
    return 4 * int(num_params) * (3 * int(k) + int(m))


def _replicated_scalar(value, name):
    """A scalar every replica writes with the same value (the first replica's is kept)."""
    return tf.Variable(
        value, trainable=False, name=name, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA
    )


class SubspaceProjection:
    """Holds the basis V (p, k) as a variable and projects gradient lists onto it.

    Call `set_basis(v)` after each refresh. Until the first refresh the projection is the
    identity (PDP starts at --projection_start_epoch). `captured_energy` is
    ||V^T g~||^2 / ||g~||^2 of the last *noisy* gradient: post-processing, releasable.
    """

    def __init__(self, num_params, k):
        self.num_params, self.k = int(num_params), int(k)
        self.basis = tf.Variable(
            tf.zeros([self.num_params, self.k]), trainable=False, name="pdp_basis"
        )
        self.active = tf.Variable(False, trainable=False, name="pdp_active")
        # Written inside the (replicated) update; every replica computes the same value.
        self.captured_energy = _replicated_scalar(1.0, "pdp_captured_energy")
        # Filled by `probe` (a NON-PRIVATE diagnostic of the clean clipped sum), when enabled.
        self.clean_energy = _replicated_scalar(0.0, "pdp_clean_energy")
        self.noise_energy = _replicated_scalar(0.0, "pdp_noise_energy")
        self.subspace_snr = _replicated_scalar(0.0, "pdp_subspace_snr")
        self.full_snr = _replicated_scalar(0.0, "pdp_full_snr")

    def set_basis(self, v):
        """Uses `v` (p, r), r <= k, from now on; r = 0 (no public signal) means no projection."""
        r = v.shape[1]
        if r == 0:
            logging.warning(
                "PDP: the public gradients span nothing (all zero?): the projection is "
                "the identity until the next refresh finds a basis"
            )
            self.active.assign(False)
            return
        if r < self.k:  # zero columns project nothing
            v = tf.pad(v, [[0, 0], [0, self.k - r]])
        self.basis.assign(v)
        self.active.assign(True)

    def set_basis_from(self, gradients, rel_tol=1e-6):
        """The top-k basis of public gradients (taken as `top_eigenbasis` takes them); returns
        (r, share of the gradients' energy it holds). Assigned whole: written row block by row
        block, `basis[a:b].assign` copied the whole variable at every write (16x slower), and
        the raw ResourceStridedSliceAssign left the variable copying itself on every read (the
        projected step 2.2x slower)."""
        v, share = top_eigenbasis_and_share(gradients, self.k, rel_tol)
        self.set_basis(v)
        return int(v.shape[1]), share

    def coordinates(self, flat):
        """V^T g of a flat (p,) vector. Two passes over the (p, k) basis per step bound the
        projection's time by memory bandwidth; as matmuls (here and V c) they ran 20 % faster
        on CPU than as matvecs."""
        return tf.matmul(flat[None, :], self.basis)[0]

    def energy_fraction(self, tensors):
        """||V^T g||^2 / ||g||^2 of a gradient list, and the two squared norms."""
        flat = flatten(tensors)
        inside = tf.reduce_sum(tf.square(self.coordinates(flat)))
        total = tf.reduce_sum(tf.square(flat))
        return inside / tf.maximum(total, 1e-30), inside, total

    def probe(self, clean_sum, noise):
        """Why PDP helps or not: the share of the clean clipped gradient sum's energy inside the
        public subspace (signal kept), the share of the noise's energy inside it (noise kept,
        ~k/p), and the signal-to-noise norm ratio inside the subspace and in full space.

        Reads the clean sum of private examples: a NON-PRIVATE diagnostic, for the data owner.
        """
        clean_fraction, clean_in, clean_all = self.energy_fraction(clean_sum)
        noise_fraction, noise_in, noise_all = self.energy_fraction(noise)
        self.clean_energy.assign(clean_fraction)
        self.noise_energy.assign(noise_fraction)
        self.subspace_snr.assign(tf.sqrt(clean_in / tf.maximum(noise_in, 1e-30)))
        self.full_snr.assign(tf.sqrt(clean_all / tf.maximum(noise_all, 1e-30)))

    def __call__(self, grads):
        def project():
            flat = flatten(grads)
            coords = self.coordinates(flat)
            energy = tf.reduce_sum(tf.square(coords)) / tf.maximum(
                tf.reduce_sum(tf.square(flat)), 1e-30
            )
            back = tf.matmul(self.basis, coords[:, None])[:, 0]  # V c
            return [energy] + unflatten(back, grads)

        out = tf.cond(
            self.active, project, lambda: [tf.constant(1.0)] + [tf.identity(g) for g in grads]
        )
        # Assigned outside the cond: under a distribution strategy the write is a sync point.
        self.captured_energy.assign(out[0])
        return out[1:]
