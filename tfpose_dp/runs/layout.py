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


def write_private_file(path, text):
    """Writes `text` to `path` atomically (tmp + rename), readable by the owner only (0600)."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)  # an older tmp file may have had other bits
    os.replace(tmp, path)


def append_private_file(path, text):
    """Appends `text` to `path`, created readable by the owner only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write(text)


def owner_only(folder):
    """Sets every file under `folder` to 0600 (files other libraries wrote there, e.g.
    TensorBoard's event files, with the default mode)."""
    for root, _, files in os.walk(folder):
        for name in files:
            os.chmod(os.path.join(root, name), 0o600)


def fresh_run_dir(stamp, root="runs"):
    """root/<stamp>, or root/<stamp>-N when that exists: a run without --model_dir never
    resumes or overwrites another's."""
    base = os.path.join(root, stamp)
    path, n = base, 1
    while os.path.exists(path):
        path, n = f"{base}-{n}", n + 1
    return path
