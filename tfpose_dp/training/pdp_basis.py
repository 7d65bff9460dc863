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
from tfpose_dp.privacy.clipping import clip_factors, flatten_per_example, per_example_gradients
from tfpose_dp.privacy.projection import top_eigenbasis
from tfpose_dp.training.steps import make_per_example_loss_fn

_INPUTS = ("image", "target_x", "target_y", "target_weight")


class PublicBasis:
    """Holds the public examples (decoded once) and recomputes V on `refresh()`."""

    def __init__(
        self,
        model,
        public_records,
        variables,
        projection,
        k,
        batch_size,
        temperature,
        codec,
        clip=None,
    ):
        self.variables, self.projection, self.k, self.clip = variables, projection, k, clip
        self.batches = [
            {name: b[name] for name in _INPUTS + ("mask",)}
            for b in eval_dataset(public_records, codec.input_size, codec, batch_size)
        ]
        loss_fn = make_per_example_loss_fn(model, temperature)

        @tf.function
        def flat_grads(batch):
            inputs = {k: batch[k] for k in _INPUTS}
            _, grads = per_example_gradients(loss_fn, inputs, variables)
            return tf.boolean_mask(flatten_per_example(grads), batch["mask"] > 0)

        self._flat_grads = flat_grads
        self.rank = 0

    def refresh(self):
        """Recomputes the basis; returns the seconds it took."""
        t0 = time.time()
        g = tf.concat([self._flat_grads(b) for b in self.batches], 0)  # (m, p), per-example
        if self.clip is not None:  # as the private gradients are: min(1, C / ||g_i||) g_i
            g = g * clip_factors(tf.norm(g, axis=1), self.clip, 1.0)[:, None]
        v = top_eigenbasis(g, self.k)
        self.rank = int(v.shape[1])
        self.projection.set_basis(v)
        seconds = time.time() - t0
        logging.info(
            "PDP basis refreshed: rank %d (k=%d, m=%d) in %.1f s",
            self.rank,
            self.k,
            int(g.shape[0]),
            seconds,
        )
        return seconds
