"""Exponential moving average of the weights, used for evaluation and export.

Averaging iterates is post-processing of the DP outputs (free in privacy) and removes much
of the noise the DP updates leave in the weights (De et al., 2022). The decay warms up as
min(decay, (1 + t) / (10 + t)) so that early averages are not dominated by the random init.
"""

import contextlib

import tensorflow as tf


class WeightAverage:
    def __init__(self, variables, decay, step):
        self.variables = list(variables)
        self.decay = float(decay)
        self.step = step  # the optimizer's iteration counter
        self.shadows = [
            tf.Variable(v, trainable=False, name=f"ema_{i}") for i, v in enumerate(self.variables)
        ]

    def reset(self):
        """Restarts the average at the current weights (after the public stage)."""
        for shadow, v in zip(self.shadows, self.variables):
            shadow.assign(v)

    def update(self):
        """Call after each optimizer step (inside tf.function is fine)."""
        t = tf.cast(self.step, tf.float32)
        decay = tf.minimum(self.decay, (1.0 + t) / (10.0 + t))
        for shadow, v in zip(self.shadows, self.variables):
            shadow.assign(decay * shadow + (1.0 - decay) * v)

    @contextlib.contextmanager
    def swapped(self):
        """Temporarily loads the averaged weights into the model."""
        backup = [tf.identity(v) for v in self.variables]
        for v, shadow in zip(self.variables, self.shadows):
            v.assign(shadow)
        try:
            yield
        finally:
            for v, b in zip(self.variables, backup):
                v.assign(b)
