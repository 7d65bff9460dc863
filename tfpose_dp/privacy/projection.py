"""PDP-SGD (Zhou, Wu, Banerjee, ICLR 2021): project the noisy gradient onto the top-k
eigenspace of the gradient second moment of *public* examples (eigenbasis.py).

The projection V V^T g~ of the noisy gradient uses no private data, so it is post-processing
and costs no privacy, provided the public examples are not private training examples (the
trainer enforces disjointness).

Memory: the basis is held as one (R, p_v) block per trainable variable, R = max(k, m) rows
(V^T, row-major per variable: no (p, k) matrix is ever concatenated), and a refresh builds the
new basis *in place*: the public per-example gradients are written chunk by chunk into the
blocks' rows (the old basis is not needed during a refresh), the m x m Gram matrix is summed
from the blocks, and each block is then replaced by its rows of the new basis, one block at a
time. A refresh's peak is the blocks (4 R p bytes) plus one chunk of public gradients (written
in place, in the graph that computes them: see _update_rows) or two block-sized temporaries,
against (3k + m) p floats before.
"""

import numpy as np
import tensorflow as tf
from absl import logging

from tfpose_dp.privacy.eigenbasis import basis_rows, eigen_solution


def refresh_bytes(num_params, k, m, chunk=0, largest_variable=0):
    """Memory a refresh holds at once above the model's own: the basis blocks (R = max(k, m)
    rows of p floats), then either one chunk of `chunk` public per-example gradients (written
    in place) or, once they are all written, the new rows of one block and their span rows
    (2 R p_v floats of the largest variable)."""
    rows = max(int(k), int(m))
    working = max(int(chunk) * int(num_params), 2 * rows * int(largest_variable))
    return 4 * (rows * int(num_params) + working)


def _replicated_scalar(value, name):
    """A scalar every replica writes with the same value (the first replica's is kept)."""
    return tf.Variable(
        value, trainable=False, name=name, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA
    )


def _scaled_rows(part, scale):
    """scale[:, None] * part[:n] as (n, p_v) rows (n = len(scale)): a chunk's public
    per-example gradients of one variable, each with its clip factor, padding dropped."""
    n = tf.shape(scale)[0]
    return tf.reshape(part, [tf.shape(part)[0], -1])[:n] * scale[:, None]


def _assign_rows(block, rows, start):
    """block[start : start + len(rows)] = rows. A mirrored block (tf.distribute) is written
    copy by copy, each on its own device: XLA compiles for one device."""
    if not isinstance(block, tf.distribute.DistributedValues):
        return _update_rows(block, rows, start)
    written = []
    for copy in block.values:
        with tf.device(copy.device), tf.control_dependencies(written[-1:]):
            written.append(_update_rows(copy, rows, start))
    return written[-1]


@tf.function(jit_compile=True, reduce_retracing=True)
def _update_rows(block, rows, start):
    """block[start : start + len(rows)] = rows, in place: compiled by XLA, the scatter writes
    into the variable's own buffer. Without XLA, TensorFlow's row writes either copy the block
    (tensor_scatter_nd_update on its value: a block-sized temporary, 3x slower) or are sparse
    (scatter_update, a sliced assign), which puts the variable in copy-on-read mode for good:
    every later read, the Gram passes and each training step's projection, then copies the
    whole block (measured: +1.4 GB and 2.5x slower reads of a 2 GB basis)."""
    index = tf.range(start, start + tf.shape(rows)[0])[:, None]
    block.assign(tf.tensor_scatter_nd_update(block.read_value(), index, rows))
    return start


class SubspaceProjection:
    """Holds the basis as one (R, p_v) block per variable and projects gradient lists onto it.

    `refresh(chunks)` computes the basis of public gradients in place; `set_basis(v)` sets a
    given (p, r) basis. Until the first basis the projection is the identity (PDP starts at
    --projection_start_epoch). `captured_energy` is ||V^T g~||^2 / ||g~||^2 of the last *noisy*
    gradient: post-processing, releasable. Rows beyond the basis's rank are zero: they add
    nothing to a coordinate or a projection.
    """

    def __init__(self, shapes, k, m=0):
        """`shapes`: of the trainable variables, in order; `k`: the basis dimension; `m`: the
        public examples a refresh writes (the blocks hold max(k, m) rows)."""
        self.shapes = [tf.TensorShape(s) for s in shapes]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.num_params, self.k = sum(self.sizes), int(k)
        self.rows = max(self.k, int(m))
        self.blocks = [
            tf.Variable(tf.zeros([self.rows, n]), trainable=False, name=f"pdp_basis_{i}")
            for i, n in enumerate(self.sizes)
        ]
        self.active = tf.Variable(False, trainable=False, name="pdp_active")
        # Written inside the (replicated) update; every replica computes the same value.
        self.captured_energy = _replicated_scalar(1.0, "pdp_captured_energy")
        # Filled by `probe` (a NON-PRIVATE diagnostic of the clean clipped sum), when enabled.
        self.clean_energy = _replicated_scalar(0.0, "pdp_clean_energy")
        self.noise_energy = _replicated_scalar(0.0, "pdp_noise_energy")
        self.subspace_snr = _replicated_scalar(0.0, "pdp_subspace_snr")
        self.full_snr = _replicated_scalar(0.0, "pdp_full_snr")

    def basis_matrix(self):
        """The basis as one (p, R) matrix (tests, tools and checkpoints of older runs)."""
        return tf.concat([tf.transpose(b) for b in self.blocks], 0)

    def set_basis(self, v):
        """Uses `v` (p, r), r <= R, from now on; r = 0 (no public signal) means no projection."""
        r = v.shape[1]
        if r == 0:
            logging.warning(
                "PDP: the public gradients span nothing (all zero?): the projection is "
                "the identity until the next refresh finds a basis"
            )
            self.active.assign(False)
            return
        rows = tf.pad(
            tf.transpose(tf.convert_to_tensor(v, tf.float32)), [[0, self.rows - r], [0, 0]]
        )
        offsets = np.cumsum([0] + self.sizes)
        for block, start, end in zip(self.blocks, offsets, offsets[1:]):
            block.assign(rows[:, start:end])
        self.active.assign(True)

    def write_chunk(self, parts, scale, start):
        """Writes one chunk of public per-example gradients at row `start`: `parts` one (b, ...)
        gradient per variable, `scale` (n,), n <= b, the factor of each of the first n examples
        (the rest, padding, are not written). Callable inside a tf.function that computes the
        gradients: each is then freed once written. One variable after the other, so that one
        variable's scaled rows are the only temporary."""
        written = []
        for block, part in zip(self.blocks, parts):
            with tf.control_dependencies(written[-1:]):
                written.append(_assign_rows(block, _scaled_rows(part, scale), start))
        return written[-1]

    def write_rows(self, chunks):
        """Writes chunks of public per-example gradients (an iterable of (parts, scale), see
        `write_chunk`, computed as consumed) into the blocks' first rows. Returns m, the rows
        written."""
        m = 0
        for parts, scale in chunks:
            n = int(scale.shape[0])
            if m + n > self.rows:
                raise ValueError(f"more public gradients than the basis has rows ({self.rows})")
            self._write_chunk(parts, scale, tf.constant(m))
            m += n
        return m

    @tf.function(reduce_retracing=True)
    def _write_chunk(self, parts, scale, start):
        self.write_chunk(parts, scale, start)

    def refresh(self, chunks, rel_tol=1e-6):
        """The top-k basis of the public gradients `chunks` (see `write_rows`), built in place
        of them; the same basis as eigenbasis.top_eigenbasis of the gradients. Returns (r, the
        share of the gradients' energy it holds)."""
        return self.finish_refresh(self.write_rows(chunks), rel_tol)

    def finish_refresh(self, m, rel_tol=1e-6):
        """The top-k basis of the m public gradients written in the blocks' first rows (by
        `write_chunk`s), built in place of them. Returns (r, its share of their energy)."""
        if m < self.rows:  # rows of the old basis beyond the public gradients
            for block, n in zip(self.blocks, self.sizes):
                _assign_rows(block, tf.zeros([self.rows - m, n]), tf.constant(m))
        w, correction, share = eigen_solution(self.blocks, self.k, rel_tol)
        if w is None:
            self.set_basis(tf.zeros([self.num_params, 0]))
            return 0, 0.0
        r = int(w.shape[1])
        for block in self.blocks:  # one block's new rows at a time, zero beyond the rank
            block.assign(basis_rows([block], w, correction, self.rows)[0])
        self.active.assign(True)
        return r, share

    def captured_share(self, chunks):
        """The share of the energy of public gradients `chunks` (see `write_rows`) inside the
        current span."""
        inside = total = 0.0
        for parts, scale in chunks:
            rows = [_scaled_rows(p, scale) for p in parts]
            coords = tf.add_n(
                [tf.matmul(p, b, transpose_b=True) for p, b in zip(rows, self.blocks)]
            )
            inside += float(tf.reduce_sum(tf.square(coords)))
            total += float(tf.add_n([tf.reduce_sum(tf.square(p)) for p in rows]))
        return inside / max(total, 1e-30)

    def coordinates(self, tensors):
        """V^T g (R,) of a gradient list: one product per variable's block."""
        return tf.add_n(
            [tf.matmul(b, tf.reshape(t, [-1, 1]))[:, 0] for b, t in zip(self.blocks, tensors)]
        )

    def expand(self, coords):
        """V c as a gradient list (the variables' shapes)."""
        c = tf.reshape(coords, [-1, 1])
        # c^T B, not B^T c: a transposed operand may be copied, and c is the small one
        return [
            tf.reshape(tf.matmul(c, b, transpose_a=True), s)
            for b, s in zip(self.blocks, self.shapes)
        ]

    def energy_fraction(self, tensors):
        """||V^T g||^2 / ||g||^2 of a gradient list, and the two squared norms."""
        inside = tf.reduce_sum(tf.square(self.coordinates(tensors)))
        total = tf.add_n([tf.reduce_sum(tf.square(t)) for t in tensors])
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
            coords = self.coordinates(grads)
            total = tf.add_n([tf.reduce_sum(tf.square(g)) for g in grads])
            energy = tf.reduce_sum(tf.square(coords)) / tf.maximum(total, 1e-30)
            return [energy] + self.expand(coords)

        out = tf.cond(
            self.active, project, lambda: [tf.constant(1.0)] + [tf.identity(g) for g in grads]
        )
        # Assigned outside the cond: under a distribution strategy the write is a sync point.
        self.captured_energy.assign(out[0])
        return out[1:]
