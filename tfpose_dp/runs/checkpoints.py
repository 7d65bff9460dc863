"""Atomic checkpoints: weights, optimizer (its step keys the noise), PDP basis and privacy ledger.

Layout under `<model_dir>/checkpoints/`:
  ckpt-00000123/ckpt.index, ckpt.data-*   tf.train.Checkpoint (model, optimizer, PDP basis, ...)
  ckpt-00000123/state.json                 step, ledger, run configuration
  latest                                   name of the newest complete checkpoint
A checkpoint is written into a temporary folder and renamed into place, then `latest` is
replaced atomically: a crash leaves either the old or the new checkpoint, never half of one.
The sampler needs no state of its own: its draw for step t is a function of (seed, t).
"""

import json
import os
import shutil
import tempfile

import tensorflow as tf

_PREFIX = "ckpt"


def checkpoint_root(model_dir):
    return os.path.join(model_dir, "checkpoints")


def latest_checkpoint(path):
    """Directory of the newest checkpoint, given a model_dir, a checkpoints/ dir or a ckpt dir."""
    if os.path.exists(os.path.join(path, "state.json")):
        return path
    for root in (checkpoint_root(path), path):
        latest = os.path.join(root, "latest")
        if os.path.exists(latest):
            with open(latest) as f:
                return os.path.join(root, f.read().strip())
    return None


def save(model_dir, trackables, state, keep=3):
    """Writes trackables + state (a JSON-able dict with at least "step") atomically."""
    root = checkpoint_root(model_dir)
    os.makedirs(root, exist_ok=True)
    name = f"ckpt-{int(state['step']):08d}"
    tmp = tempfile.mkdtemp(prefix=".tmp-", dir=root)
    try:
        tf.train.Checkpoint(**trackables).write(os.path.join(tmp, _PREFIX))
        with open(os.path.join(tmp, "state.json"), "w") as f:
            json.dump(state, f, indent=1)
        final = os.path.join(root, name)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pointer = os.path.join(root, ".latest.tmp")
    with open(pointer, "w") as f:
        f.write(name)
    os.replace(pointer, os.path.join(root, "latest"))
    old = sorted(d for d in os.listdir(root) if d.startswith("ckpt-") and d != name)
    for d in old[: max(0, len(old) - (keep - 1))]:
        shutil.rmtree(os.path.join(root, d), ignore_errors=True)
    return final


def read_state(ckpt_dir):
    with open(os.path.join(ckpt_dir, "state.json")) as f:
        return json.load(f)


def checkpoint_prefix(ckpt_dir):
    """The prefix of a ckpt-* folder's variables (for tf.train.list_variables and friends)."""
    return os.path.join(ckpt_dir, _PREFIX)


def restore(ckpt_dir, trackables, expect_partial=False):
    """Restores trackables from `ckpt_dir`; returns its state dict."""
    status = tf.train.Checkpoint(**trackables).read(checkpoint_prefix(ckpt_dir))
    if expect_partial:
        status.expect_partial()
    return read_state(ckpt_dir)
