"""Refreshes the PDP subspace from public per-example gradients at the current weights.

The public gradients are clipped to the private clip norm C before the eigendecomposition:
the private update is a sum of clipped gradients, so the subspace should be that of clipped
gradients too (measured at the public model on the private synthetic domain, 100 public
persons, k=10: 92.7 % of the clipped mean private gradient's energy with clipping, 84.4 %
without; README "Public pretraining, private fine-tuning")."""

import time

import tensorflow as tf
from absl import logging

from tfpose_dp.data.pipeline import eval_dataset
from tfpose_dp.privacy.clipping import clip_factors, global_norms, per_example_gradients
from tfpose_dp.training.steps import make_per_example_loss_fn

_INPUTS = ("image", "target_x", "target_y", "target_weight")


def public_batches(public_records, codec, batch_size):
    """The public examples decoded once, as padded batches (a mask marks the real rows)."""
    return [
        {name: b[name] for name in _INPUTS + ("mask",)}
        for b in eval_dataset(public_records, codec.input_size, codec, batch_size)
    ]


class PublicBasis:
    """Recomputes V from the public batches on `refresh()`."""

    def __init__(
        self, model, batches, variables, projection, temperature, clip=None, previous_share=False
    ):
        self.variables, self.projection = variables, projection
        self.batches = batches
        loss_fn = make_per_example_loss_fn(model, temperature)

        @tf.function
        def rows_by_variable(batch):
            """One (n, p_v) block per variable of the batch's real examples' gradients, each
            clipped as the private gradients are (min(1, C / ||g_i||) g_i) by the product that
            also zeroes the padding; only a batch that has padding is copied again to drop it."""
            inputs = {k: batch[k] for k in _INPUTS}
            _, grads = per_example_gradients(loss_fn, inputs, variables)
            mask = batch["mask"]
            scale = mask if clip is None else clip_factors(global_norms(grads), clip, mask)
            rows = [tf.reshape(g, [tf.shape(g)[0], -1]) * scale[:, None] for g in grads]
            keep = mask > 0
            return tf.cond(
                tf.reduce_all(keep), lambda: rows, lambda: [tf.boolean_mask(r, keep) for r in rows]
            )

        self._rows_by_variable = rows_by_variable
        self.examples = int(sum(float(tf.reduce_sum(b["mask"])) for b in batches))  # m
        self.rank = 0
        self.share = self.previous_share = None  # of ||G||_F^2: the fresh basis, the old one
        # The old basis's share needs the public gradients before the refresh overwrites it:
        # one more pass of per-example gradients, so only when asked (--pdp_diagnostics).
        self.measure_previous_share = previous_share
        self.gradient_seconds = None  # of the last refresh's per-example gradients

    def _chunks(self):
        """Each public batch's per-variable gradient rows, computed as they are consumed (one
        batch's gradients live at a time), timed into `gradient_seconds`."""
        for batch in self.batches:
            t0 = time.time()
            rows = [r for r in self._rows_by_variable(batch)]
            self.gradient_seconds += time.time() - t0
            yield rows

    def refresh(self):
        """Recomputes the basis in place (projection.py); returns the seconds it took."""
        t0 = time.time()
        self.gradient_seconds = 0.0  # the rest is linear algebra on the blocks
        # How much of the public energy the basis used until now still holds: data to choose
        # the refresh period by (public gradients and released weights only, so releasable).
        self.previous_share = None
        if self.measure_previous_share and self.projection.active:
            self.previous_share = self.projection.captured_share(self._chunks())
        self.rank, self.share = self.projection.refresh(self._chunks())
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
