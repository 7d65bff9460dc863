"""Refreshes the PDP subspace from public per-example gradients at the current weights.

The public gradients are clipped to the private clip norm C before the eigendecomposition:
the private update is a sum of clipped gradients, so the subspace should be that of clipped
gradients too (measured at the public model on the private synthetic domain, 100 public
persons, k=10: 92.7 % of the clipped mean private gradient's energy with clipping, 84.4 %
without; docs/results.md "Public pretraining, private fine-tuning")."""

import time

import tensorflow as tf
from absl import logging

from tfpose_dp.data.pipeline import eval_dataset
from tfpose_dp.privacy.clipping import clip_factors, global_norms

_INPUTS = ("image", "target_x", "target_y", "target_weight")


def public_batches(public_records, codec, batch_size):
    """The public examples decoded once, as padded batches (a mask marks the real rows)."""
    return [
        {name: b[name] for name in _INPUTS + ("mask",)}
        for b in eval_dataset(public_records, codec.input_size, codec, batch_size)
    ]


class PublicBasis:
    """Recomputes V from the public batches on `refresh()`. `gradients`: batch -> (losses,
    per-example gradients of `variables`); the private step's own compiled one
    (PrivateSteps.per_example_gradients) when the batches have its chunk's shape, so the run
    traces it once."""

    def __init__(self, gradients, batches, variables, projection, clip=None, previous_share=False):
        self.variables, self.projection = variables, projection
        self.batches = batches

        def gradients_and_factors(batch):
            """The batch's per-example gradients, one per variable, and the factor of each of
            its n real examples (padding comes last): min(1, C / ||g_i||), the private clip."""
            inputs = {k: batch[k] for k in _INPUTS}
            _, grads = gradients(inputs)
            mask = batch["mask"]
            scale = mask if clip is None else clip_factors(global_norms(grads), clip, mask)
            return grads, scale[: tf.cast(tf.reduce_sum(mask), tf.int32)]

        @tf.function
        def write_public_rows(batch, start):
            """Writes the batch's clipped gradients into the basis blocks from row `start`, in
            the same graph that computes them: each variable's gradients are freed once
            written (the projection scales them there: no second copy of the chunk)."""
            grads, scale = gradients_and_factors(batch)
            projection.write_chunk(grads, scale, start)

        self._gradients_and_factors = tf.function(gradients_and_factors)
        self._write_public_rows = write_public_rows
        self._counts = [int(tf.reduce_sum(b["mask"])) for b in batches]  # real examples
        self.examples = sum(self._counts)  # m
        if self.examples > projection.rows:
            raise ValueError(
                f"{self.examples} public examples, more than the basis has rows ({projection.rows})"
            )
        self.rank = 0
        self.share = self.previous_share = None  # of ||G||_F^2: the fresh basis, the old one
        # The old basis's share needs the public gradients before the refresh overwrites it:
        # one more pass of per-example gradients, so only when asked (--pdp_diagnostics).
        self.measure_previous_share = previous_share
        self.gradient_seconds = None  # of the last refresh's per-example gradients

    def _chunks(self):
        """Each public batch's (per-variable gradients, clip factors), computed as consumed."""
        for batch in self.batches:
            yield self._gradients_and_factors(batch)

    def _write_rows(self):
        """Writes every public batch's gradients into the basis blocks; returns m, timing the
        gradients into `gradient_seconds`."""
        m = 0
        for batch, count in zip(self.batches, self._counts):
            t0 = time.time()
            self._write_public_rows(batch, tf.constant(m))
            m += count
            self.gradient_seconds += time.time() - t0
        return m

    def refresh(self):
        """Recomputes the basis in place (projection.py); returns the seconds it took."""
        t0 = time.time()
        self.gradient_seconds = 0.0  # the rest is linear algebra on the blocks
        # How much of the public energy the basis used until now still holds: data to choose
        # the refresh period by (public gradients and released weights only, so releasable).
        self.previous_share = None
        if self.measure_previous_share and self.projection.active:
            self.previous_share = self.projection.captured_share(self._chunks())
        self.rank, self.share = self.projection.finish_refresh(self._write_rows())
        seconds = time.time() - t0
        logging.info(
            "PDP basis refreshed: rank %d (k=%d, m=%d) in %.1f s (%.1f s of per-example "
            "gradients); it holds %.1f %% of the public gradients' energy%s",
            self.rank,
            self.projection.k,
            self.examples,
            seconds,
            self.gradient_seconds,
            100 * self.share,
            ""
            if self.previous_share is None
            else f", the previous basis {100 * self.previous_share:.1f} %",
        )
        return seconds
