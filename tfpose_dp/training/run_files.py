"""What a run writes where, and which part must never be shared.

  MODEL_DIR/                 safe to share: checkpoints (weights, optimizer, ledger),
    checkpoints/             DP-released TensorBoard scalars (privacy/*, pdp/*), validation
    events.out.tfevents.*    metrics (val/*, not covered by DP, see the statement) and
    final_metrics.json       final_metrics.json
    private/                 NEVER share (mode 0700): the secret DP key, and diagnostics
      dp_key                 computed from private training examples without DP (loss, clip
      progress.log           fraction, examples/s), as text and as TensorBoard scalars
      tensorboard/
"""
import os

from absl import logging

from tfpose_dp.privacy.dp_key import DPKey

PRIVATE = "private"


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


def run_key(model_dir, seed, reproducible, chief):
    """The run's DP key on the chief (None on other workers: they receive it by broadcast).

    A new run draws a fresh key from the OS and keeps it in MODEL_DIR/private/dp_key; a resumed
    run (or one restarted before its first checkpoint) reads it back, so the noise and sampling
    sequence continues. `reproducible` derives it from the public seed: no DP guarantee.
    """
    if reproducible:
        logging.warning("--reproducible_noise: noise and Poisson sampling come from the public "
                        "--seed=%d; this run carries NO differential-privacy guarantee", seed)
        return DPKey.from_public_seed(seed)
    if not chief:
        return None
    path = key_path(model_dir)
    if os.path.exists(path):
        key = DPKey.load(path)
        logging.info("DP key %s read from %s", key.fingerprint(), path)
        return key
    ensure_private_dir(model_dir)
    key = DPKey.generate()
    key.save(path)
    logging.info("New secret DP key %s (from the OS CSPRNG) written to %s: never share %s/",
                 key.fingerprint(), path, private_dir(model_dir))
    return key
