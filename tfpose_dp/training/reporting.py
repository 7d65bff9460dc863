"""TensorBoard summaries and progress lines.

Names say what may be released: `privacy/*` is public configuration and the accountant's
output; `val/*` is computed on the validation split (not private training data, but not
covered by DP either); `pdp/*` is post-processing of the noisy gradient or public-data
quantities. `diagnostics_nonprivate/*` (loss, clip fraction, examples/s of private batches)
is computed from private training examples without DP: it is written only under
MODEL_DIR/private/ (TensorBoard with --logdir=MODEL_DIR still shows it locally) and printed
only with --print_private_diagnostics.
"""

import json
import os

import numpy as np
import tensorflow as tf
from absl import logging
from tensorboard.plugins.hparams import api as hparams_api

from tfpose_dp.runs.layout import append_private_file, ensure_private_dir, owner_only


class Reporter:
    """TensorBoard writer; a disabled one (non-chief workers) writes nothing."""

    def __init__(self, model_dir, enabled=True, print_private=False):
        self.print_private = print_private
        self.private_log = None
        if not enabled:
            self.writer = self.private_writer = tf.summary.create_noop_writer()
            return
        self.writer = tf.summary.create_file_writer(model_dir)
        private = ensure_private_dir(model_dir)
        self.private_writer = tf.summary.create_file_writer(os.path.join(private, "tensorboard"))
        self.private_log = os.path.join(private, "progress.log")

    def private_diagnostics(self, step, values):
        """Diagnostics of private training batches, computed without DP: private/ only."""
        line = " | ".join(f"{k.split('/')[-1]} {v:.4g}" for k, v in values.items())
        with self.private_writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, value)
        if self.private_log:
            append_private_file(self.private_log, f"step {step} | {line}\n")
        if self.print_private:
            logging.info(
                "step %d | diagnostics of private training batches (not DP): %s", step, line
            )

    def privacy(self, step, plan, epsilon, ledger_steps):
        if plan is None:
            return
        with self.writer.as_default(step=step):
            tf.summary.scalar("privacy/epsilon", epsilon)
            tf.summary.scalar("privacy/epsilon_target", plan.epsilon)
            tf.summary.scalar("privacy/delta", plan.delta)
            tf.summary.scalar("privacy/noise_multiplier", plan.noise_multiplier)
            tf.summary.scalar("privacy/sampling_rate", plan.sampling_rate)
            tf.summary.scalar("privacy/steps", ledger_steps)

    def text(self, step, tag, text):
        with self.writer.as_default(step=step):
            tf.summary.text(tag, text)

    def scalars(self, step, values):
        with self.writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, value)

    def images(self, step, tag, images):
        with self.writer.as_default(step=step):
            tf.summary.image(tag, np.stack(images), max_outputs=len(images))

    def hparams(self, hparams):
        with self.writer.as_default():
            hparams_api.hparams({k: v for k, v in hparams.items() if v is not None})

    def flush(self):
        self.writer.flush()
        self.private_writer.flush()
        if self.private_log:
            owner_only(os.path.dirname(self.private_log))


def progress_line(step, total_steps, steps_per_epoch, epsilon, target, private):
    """The public progress line: step, epoch and privacy spent (no private-batch statistic)."""
    eps = f"eps {epsilon:.3f}/{target:g}" if private else "NON-PRIVATE"
    return f"step {step}/{total_steps} | epoch {step / steps_per_epoch:.2f} | {eps}"


def log_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=1)
    logging.info("wrote %s", path)
