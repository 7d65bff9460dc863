"""Compiled training steps: accumulate one physical chunk, then apply one logical step.

The private path delegates to the DP optimizer (clip per example, sum, noise once per
logical batch). The non-private baseline (`--nonprivate`) uses an ordinary batched
gradient of the mean loss; its outputs are labelled non-private everywhere.
"""
import tensorflow as tf

from tfpose_dp.models.simcc import simcc_per_example_loss


def make_per_example_loss_fn(model, temperature=1.0):
    """One example (dict without batch axis) -> scalar SimCC loss."""
    def loss_fn(example):
        out = model(example["image"][None], training=True)
        loss = simcc_per_example_loss(example["target_x"][None], example["target_y"][None],
                                      example["target_weight"][None], out["simcc_x"], out["simcc_y"],
                                      temperature)
        return loss[0]
    return loss_fn


_MODEL_INPUTS = ("image", "target_x", "target_y", "target_weight")


class PrivateSteps:
    """accumulate(chunk) per physical chunk, then apply() once per logical batch."""

    def __init__(self, model, optimizer, variables, temperature=1.0, weight_average=None):
        self.optimizer, self.variables = optimizer, variables
        self.weight_average = weight_average
        self._loss_fn = make_per_example_loss_fn(model, temperature)
        self.accumulate = tf.function(self._accumulate)
        self.apply = tf.function(self._apply)

    def _accumulate(self, batch):
        inputs = {k: batch[k] for k in _MODEL_INPUTS}
        losses, norms = self.optimizer.accumulate(self._loss_fn, inputs, batch["mask"], self.variables)
        mask = batch["mask"]
        clipped = tf.cast(norms > self.optimizer.l2_norm_clip, tf.float32) * mask
        # Private diagnostics (sums over real examples): never release them as DP results.
        return tf.reduce_sum(losses * mask), tf.reduce_sum(clipped), tf.reduce_sum(mask)

    def _apply(self):
        grads = self.optimizer.private_gradients(self.variables)
        self.optimizer.apply_gradients(zip(grads, self.variables))
        if self.weight_average is not None:
            self.weight_average.update()


class NonPrivateSteps:
    """Plain minibatch training on the same chunks (the non-private baseline)."""

    def __init__(self, model, optimizer, variables, temperature=1.0, weight_average=None):
        self.model, self.optimizer, self.variables = model, optimizer, variables
        self.weight_average = weight_average
        self.temperature = temperature
        self._sums = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False) for v in variables]
        self._count = tf.Variable(0.0, trainable=False)
        self.accumulate = tf.function(self._accumulate)
        self.apply = tf.function(self._apply)

    def _accumulate(self, batch):
        with tf.GradientTape() as tape:
            out = self.model(batch["image"], training=True)
            losses = simcc_per_example_loss(batch["target_x"], batch["target_y"],
                                            batch["target_weight"], out["simcc_x"], out["simcc_y"],
                                            self.temperature)
            total = tf.reduce_sum(losses * batch["mask"])
        grads = tape.gradient(total, self.variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        for s, g in zip(self._sums, grads):
            s.assign_add(g)
        self._count.assign_add(tf.reduce_sum(batch["mask"]))
        return total, tf.constant(0.0), tf.reduce_sum(batch["mask"])

    def _apply(self):
        scale = 1.0 / tf.maximum(self._count, 1.0)
        self.optimizer.apply_gradients([(s * scale, v) for s, v in zip(self._sums, self.variables)])
        for s in self._sums:
            s.assign(tf.zeros_like(s))
        self._count.assign(0.0)
        if self.weight_average is not None:
            self.weight_average.update()
