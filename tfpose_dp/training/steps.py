"""Compiled training steps: accumulate one physical chunk, then apply one logical step.

The private path delegates to the DP optimizer (clip per example, sum, noise once per
logical batch). The non-private baseline (`--nonprivate`) uses an ordinary batched
gradient of the mean loss; its outputs are labelled non-private everywhere.

Both run under a tf.distribute strategy: `accumulate` gets a distributed chunk (each replica
its own slice) and runs per replica; `apply` runs per replica on the all-reduced sums. With
the default strategy this is the single-device program.
"""

import tensorflow as tf

from tfpose_dp.models.simcc import simcc_per_example_loss
from tfpose_dp.privacy.clipping import compiled_per_example_gradients
from tfpose_dp.replica_sums import replica_local_zeros

_SUM = tf.distribute.ReduceOp.SUM


def batched_losses(outputs, batch, temperature=1.0):
    """Model outputs and their batch -> (B,) per-example SimCC losses."""
    return simcc_per_example_loss(
        batch["target_x"],
        batch["target_y"],
        batch["target_weight"],
        outputs["simcc_x"],
        outputs["simcc_y"],
        temperature,
    )


def make_per_example_loss_fn(model, temperature=1.0):
    """One example (dict without batch axis) -> scalar SimCC loss."""

    def loss_fn(example):
        batch = tf.nest.map_structure(lambda t: t[None], example)
        return batched_losses(model(batch["image"], training=True), batch, temperature)[0]

    return loss_fn


_MODEL_INPUTS = ("image", "target_x", "target_y", "target_weight")


class _Steps:
    """accumulate(chunk) per physical chunk, then apply() once per logical batch.

    accumulate returns (loss sum, clipped count, example count) over all replicas: private
    diagnostics, never release them as DP results.
    """

    def __init__(self, optimizer, variables, weight_average, strategy):
        self.optimizer, self.variables = optimizer, variables
        self.weight_average = weight_average
        self.strategy = strategy or tf.distribute.get_strategy()
        with self.strategy.scope():
            # The optimizer's slots and hyperparameters now: a tf.function whose first trace
            # creates variables is traced twice, and `apply` is one of the largest graphs.
            optimizer._create_all_weights(variables)
        self.accumulate = tf.function(self._distributed_accumulate)
        self.apply = tf.function(self._distributed_apply)

    def _distributed_accumulate(self, batch):
        return self._summed_over_replicas(self._accumulate, batch)

    def _summed_over_replicas(self, per_replica_fn, batch):
        """per_replica_fn(batch's slice) on every replica; its scalars summed over replicas."""
        sums = self.strategy.run(per_replica_fn, args=(batch,))
        return tuple(self.strategy.reduce(_SUM, s, axis=None) for s in sums)

    def _distributed_apply(self):
        """Applies one logical step; returns whether the applied update was finite."""
        finite = self.strategy.run(self._apply)
        if self.weight_average is not None:
            self.weight_average.update()
        return self.strategy.experimental_local_results(finite)[0]


class MeanGradient:
    """Plain (non-private) gradients of the mean loss over a batch made of chunks: `add` sums
    one chunk's on its replica, `take_mean` (replica context) returns the mean over every
    replica's examples and resets. The non-private baseline's update and --public_mix's clean
    public gradient."""

    def __init__(self, model, variables, temperature, strategy, name):
        self.model, self.variables, self.temperature = model, variables, temperature
        with strategy.scope():
            self._sums = replica_local_zeros(variables, name)
            self._count = replica_local_zeros([tf.zeros([])], f"{name}_count")[0]

    def add(self, batch):
        with tf.GradientTape() as tape:
            out = self.model(batch["image"], training=True)
            losses = batched_losses(out, batch, self.temperature)
            total = tf.reduce_sum(losses * batch["mask"])
        grads = tape.gradient(
            total, self.variables, unconnected_gradients=tf.UnconnectedGradients.ZERO
        )
        for s, g in zip(self._sums, grads):
            s.assign_add(g)
        self._count.assign_add(tf.reduce_sum(batch["mask"]))
        return total, tf.reduce_sum(batch["mask"])

    def take_mean(self):
        context = tf.distribute.get_replica_context()
        sums = context.all_reduce(_SUM, [tf.identity(s) for s in self._sums])
        count = context.all_reduce(_SUM, tf.identity(self._count))
        grads = [s * (1.0 / tf.maximum(count, 1.0)) for s in sums]
        with tf.control_dependencies(grads):
            for s in self._sums:
                s.assign(tf.zeros_like(s))
            self._count.assign(0.0)
        return [tf.identity(g) for g in grads]


class PrivateSteps(_Steps):
    """`public_mix`: a MeanGradient of public batches (`accumulate_public`) mixed into each
    released update with weight `public_weight` (set before `apply`): post-processing of the
    noisy update with public data only."""

    def __init__(
        self,
        model,
        optimizer,
        variables,
        temperature=1.0,
        weight_average=None,
        strategy=None,
        clipping="vmap",
        public_mix=None,
    ):
        super().__init__(optimizer, variables, weight_average, strategy)
        self._loss_fn = make_per_example_loss_fn(model, temperature)
        # also the PDP basis's (training/pdp_basis.py): one trace of the vectorized gradient
        self.per_example_gradients = compiled_per_example_gradients(self._loss_fn, variables)
        self._ghost = None
        if clipping == "ghost":
            self._ghost = (lambda out, batch: batched_losses(out, batch, temperature), model)
        self.public_mix = public_mix
        with self.strategy.scope():  # now, not in the first trace (as the slots above)
            optimizer._ensure_accumulators(variables)
            self.public_weight = tf.Variable(0.0, trainable=False, name="public_weight")
        self.accumulate_public = tf.function(self._distributed_public)

    def _accumulate(self, batch):
        inputs = {k: batch[k] for k in _MODEL_INPUTS}
        losses, norms = self.optimizer.accumulate(
            self._loss_fn,
            inputs,
            batch["mask"],
            self.variables,
            self._ghost,
            batch.get("group"),
            self.per_example_gradients,
        )
        mask = batch["mask"]
        clipped = tf.cast(norms > self.optimizer.l2_norm_clip, tf.float32) * mask
        return tf.reduce_sum(losses * mask), tf.reduce_sum(clipped), tf.reduce_sum(mask)

    def _distributed_public(self, batch):
        return self._summed_over_replicas(self.public_mix.add, batch)

    def _apply(self):
        grads = self.optimizer.private_gradients(self.variables)
        if self.public_mix is not None:
            w = tf.cast(self.public_weight, grads[0].dtype)
            public = self.public_mix.take_mean()
            grads = [(1.0 - w) * g + w * p for g, p in zip(grads, public)]
        self.optimizer.apply_private_gradients(grads, self.variables)
        # Checked on the released (noisy) update, never on private losses or gradients: a
        # stop must not depend on one record (clipping zeroes a non-finite example's gradient).
        return _all_finite(grads)


class NonPrivateSteps(_Steps):
    """Plain minibatch training on the same chunks (the non-private baseline)."""

    def __init__(
        self, model, optimizer, variables, temperature=1.0, weight_average=None, strategy=None
    ):
        super().__init__(optimizer, variables, weight_average, strategy)
        self._mean = MeanGradient(model, variables, temperature, self.strategy, "grad_sum")

    def _accumulate(self, batch):
        total, count = self._mean.add(batch)
        return total, tf.constant(0.0), count

    def _apply(self):
        grads = self._mean.take_mean()
        self.optimizer.apply_gradients(
            zip(grads, self.variables), experimental_aggregate_gradients=False
        )
        return _all_finite(grads)


def _all_finite(tensors):
    return tf.reduce_all([tf.reduce_all(tf.math.is_finite(t)) for t in tensors])
