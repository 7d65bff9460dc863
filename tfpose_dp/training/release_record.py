"""Which DP steps this MODEL_DIR has ever released, kept beside its key and in every
checkpoint, so that no step's noise is ever used twice and every released step is charged.

Noise and batches are pure functions of (key, start nonce, generation, step). A run resumed
from a checkpoint older than its last released step (a crash after the checkpoint, or
`latest` pointed at an earlier ckpt-*) would release those steps again: with the same noise,
the two trajectories' difference cancels it. So every step is counted here *before* its update
is applied, with the (q, sigma) it was released at; a start whose checkpoint's ledger counts
fewer steps than were released raises the generation and charges the discarded steps at the
(q, sigma) they were released with. A crash therefore costs the steps taken since the last
checkpoint, in budget as well as time.

Lost or edited records: the record is also written into each checkpoint, and a start takes the
larger of the file's and the checkpoint's; a key without its record refuses to start. Copies:
each start draws a fresh nonce from the OS into the key's streams, so two copies of one
MODEL_DIR (or one resumed twice) never share noise. A lock on MODEL_DIR/private/ refuses a
second process.

The file (MODEL_DIR/private/releases.json, mode 0600) holds no private data; it lives in
private/ because it belongs to the key.
"""

import json
import os
import secrets

from tfpose_dp.privacy.accounting import append_steps
from tfpose_dp.runs.layout import ensure_private_dir, private_dir, write_private_file

FILE = "releases.json"
NONCE_BYTES = 16


class ReleaseRecordError(RuntimeError):
    """The record of released steps is missing; the message says how to recover."""


def _path(model_dir):
    return os.path.join(private_dir(model_dir), FILE)


def read_saved(model_dir):
    """The record in MODEL_DIR/private/releases.json as a dict, or None."""
    try:
        with open(_path(model_dir)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def steps_after(segments, skipped):
    """The [q, sigma, steps] segments of a release history after its first `skipped` steps.

    >>> steps_after([[0.1, 2.0, 3], [0.2, 1.0, 4]], 5)
    [[0.2, 1.0, 2]]
    """
    tail = []
    for q, sigma, steps in segments:
        take = max(0, steps - skipped)
        skipped = max(0, skipped - steps)
        if take:
            tail.append([q, sigma, take])
    return tail


class ReleaseRecord:
    """The generation and nonce of the key's streams and every step released under them."""

    def __init__(self, model_dir, generation=0, segments=None, discarded=None, nonce=None):
        self.model_dir = model_dir
        self.generation = generation
        self.segments = [list(s) for s in segments or []]  # [q, sigma, steps] in release order
        # released steps the starting checkpoint's ledger lacks, as [q, sigma, steps]
        self.discarded_segments = discarded or []
        self.nonce = nonce if nonce is not None else secrets.token_bytes(NONCE_BYTES)

    @property
    def released(self):
        return sum(s[2] for s in self.segments)

    @property
    def discarded(self):
        return sum(s[2] for s in self.discarded_segments)

    @classmethod
    def at_start(cls, model_dir, ledger_steps, in_checkpoint=None, key_exists=False):
        """The record for a run starting from a checkpoint whose ledger holds `ledger_steps`
        (0 without one) and whose state holds the record `in_checkpoint` (a dict, or None).
        A fresh nonce either way; a key with neither record refuses."""
        saved = read_saved(model_dir)
        if saved is None and key_exists:
            raise ReleaseRecordError(
                f"{_path(model_dir)} is missing but the run's key is there: the count of steps "
                "this MODEL_DIR released is lost, so a start could release a step's noise twice "
                "or charge too few steps. Restore the file from a backup of private/, or train "
                "in a new --model_dir (the steps released here stay spent: the privacy losses "
                "of the two runs add up)"
            )
        known = [r for r in (saved, in_checkpoint) if r]
        if not known:
            return cls(model_dir, 0, [[None, None, ledger_steps]] if ledger_steps else [])
        latest = max(known, key=lambda r: (r["released"], r["generation"]))
        segments = latest.get("segments") or [[None, None, latest["released"]]]  # older files
        discarded = steps_after(segments, ledger_steps)
        generation = max(r["generation"] for r in known) + (1 if discarded else 0)
        return cls(model_dir, generation, segments, discarded)

    def to_dict(self):
        return {
            "generation": self.generation,
            "released": self.released,
            "segments": self.segments,
            "nonce": self.nonce.hex(),
        }

    def save(self):
        """Atomically (a crash leaves the old or the new count, never half a file), 0600."""
        ensure_private_dir(self.model_dir)
        write_private_file(_path(self.model_dir), json.dumps(self.to_dict()))

    def count_release(self, sampling_rate, noise_multiplier):
        """Called before each update is applied, with the step's (q, sigma)."""
        append_steps(self.segments, sampling_rate, noise_multiplier)
        self.save()
