"""How many DP steps this MODEL_DIR has ever released, kept beside its key, so that no step's
noise is ever used twice.

Noise and batches are pure functions of (key, generation, step). A run resumed from a
checkpoint older than its last released step (a crash after the checkpoint, or `latest` pointed
at an earlier ckpt-*) would release those steps again: with the same noise, the two
trajectories' difference cancels it. So every step is counted here *before* its update is
applied, and a start whose checkpoint's ledger counts fewer steps than were released raises
the key's generation (fresh noise and sampling) and charges the discarded steps to the ledger.
A crash therefore costs the steps taken since the last checkpoint, in budget as well as time.

The file (MODEL_DIR/private/releases.json) holds no private data; it lives in private/ because
it belongs to the key: a MODEL_DIR without its key cannot continue anyway.
"""

import json
import os

from tfpose_dp.runs.layout import ensure_private_dir, private_dir

FILE = "releases.json"


def _path(model_dir):
    return os.path.join(private_dir(model_dir), FILE)


class ReleaseRecord:
    """The generation of the key's streams and the count of steps released under all of them."""

    def __init__(self, model_dir, generation=0, released=0, discarded=0):
        self.model_dir = model_dir
        self.generation = generation
        self.released = released
        self.discarded = discarded  # released steps the starting checkpoint's ledger lacks

    @classmethod
    def at_start(cls, model_dir, ledger_steps):
        """The record for a run starting from a checkpoint whose ledger holds `ledger_steps`
        (0 without one). Missing file: nothing released beyond that ledger (a new run)."""
        try:
            with open(_path(model_dir)) as f:
                saved = json.load(f)
        except FileNotFoundError:
            return cls(model_dir, 0, ledger_steps)
        discarded = max(0, saved["released"] - ledger_steps)
        generation = saved["generation"] + (1 if discarded else 0)
        return cls(model_dir, generation, ledger_steps + discarded, discarded)

    def save(self):
        """Atomically (a crash leaves the old or the new count, never half a file)."""
        ensure_private_dir(self.model_dir)
        path = _path(self.model_dir)
        with open(path + ".tmp", "w") as f:
            json.dump({"generation": self.generation, "released": self.released}, f)
        os.replace(path + ".tmp", path)

    def count_release(self):
        """Called before each update is applied."""
        self.released += 1
        self.save()
