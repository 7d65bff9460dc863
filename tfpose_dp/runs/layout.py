"""What a run writes where, and which part must never be shared.

MODEL_DIR/                 safe to share: checkpoints (weights, optimizer, ledger),
  checkpoints/             DP-released TensorBoard scalars (privacy/*, pdp/*), validation
  events.out.tfevents.*    metrics (val/*, not covered by DP, see the statement) and
  final_metrics.json       final_metrics.json
  private/                 NEVER share (mode 0700): the secret DP key, and diagnostics
    dp_key                 computed from private training examples without DP (loss, clip
    releases.json          fraction, examples/s), as text and as TensorBoard scalars; the
    progress.log           count of released steps (training/release_record.py)
    tensorboard/
"""

import os

PRIVATE = "private"
FINAL_METRICS = "final_metrics.json"


def private_dir(model_dir):
    return os.path.join(model_dir, PRIVATE)


def ensure_private_dir(model_dir):
    """Creates MODEL_DIR/private (owner-only) and returns its path."""
    path = private_dir(model_dir)
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def key_path(model_dir):
    return os.path.join(private_dir(model_dir), "dp_key")
