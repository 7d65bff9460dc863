"""TensorBoard summaries and progress lines.

Names say what may be released: `privacy/*` is public configuration and the accountant's
output; `val/*` is computed on the validation split (not private training data);
`pdp/*` is post-processing of the noisy gradient or public-data quantities;
`diagnostics_nonprivate/*` is computed from private training examples and is *not*
covered by the DP guarantee.
"""
import json

import numpy as np
import tensorflow as tf
from absl import logging
from tensorboard.plugins.hparams import api as hparams_api


class Reporter:
    """TensorBoard writer; a disabled one (non-chief workers) writes nothing."""

    def __init__(self, model_dir, enabled=True):
        self.writer = tf.summary.create_file_writer(model_dir) if enabled else tf.summary.create_noop_writer()

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


def progress_line(step, total_steps, steps_per_epoch, loss, clip_fraction, epsilon, target,
                  examples_per_s, private):
    eps = f"eps {epsilon:.3f}/{target:g}" if private else "NON-PRIVATE"
    clip = f" | clipped {100 * clip_fraction:.0f}%" if private else ""
    return (f"step {step}/{total_steps} | epoch {step / steps_per_epoch:.2f} | loss {loss:.4f}"
            f"{clip} (diagnostics, not DP) | {eps} | {examples_per_s:.1f} ex/s")


def log_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=1)
    logging.info("wrote %s", path)
