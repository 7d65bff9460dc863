"""`PrivacyCallback`: the privacy budget a Keras `fit` has spent, each epoch, in the logs and
in TensorBoard (`privacy/epsilon`), by the calculator's rule (privacy/calculator.py)."""

import os

import tensorflow as tf

from tfpose_dp.privacy import accounting, calculator


class PrivacyCallback(tf.keras.callbacks.Callback):
    """Adds `epsilon` (spent so far, PLD) to each epoch's logs; writes it to TensorBoard.

    Steps are the optimizer's applied steps (`optimizer.iterations`), each a Poisson draw
    with q = batch_size / num_examples (privacy/poisson_batches.py) and noise multiplier
    `noise_multiplier`: the same arguments as the optimizer's and the plan's.
    """

    def __init__(self, num_examples, batch_size, noise_multiplier, delta=None, log_dir=None):
        super().__init__()
        self.num_examples, self.batch_size = int(num_examples), int(batch_size)
        self.noise_multiplier = float(noise_multiplier)
        self.delta = accounting.default_delta(num_examples) if delta is None else float(delta)
        accounting.check_delta(self.delta, self.num_examples)
        self._writer = None
        if log_dir is not None:
            self._writer = tf.summary.create_file_writer(os.path.join(log_dir, "privacy"))
        self.epsilon = 0.0

    def on_epoch_end(self, epoch, logs=None):
        steps = int(self.model.optimizer.iterations)
        self.epsilon = calculator.epsilon_after(
            self.num_examples, self.batch_size, self.noise_multiplier, steps, self.delta
        )
        if logs is not None:
            logs["epsilon"] = self.epsilon
        if self._writer is not None:
            with self._writer.as_default():
                tf.summary.scalar("privacy/epsilon", self.epsilon, step=steps)
                tf.summary.scalar("privacy/delta", self.delta, step=steps)
            self._writer.flush()
