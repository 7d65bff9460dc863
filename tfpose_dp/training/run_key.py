"""The run's DP key: drawn by the chief when a run starts, read back when it resumes, sent to
the other workers over the collective (privacy/dp_key.py says what it protects). It is written
to MODEL_DIR/private/dp_key only once the configuration has been accepted."""

import os

from absl import logging

from tfpose_dp.privacy.dp_key import DPKey
from tfpose_dp.runs.dir_lock import lock_model_dir
from tfpose_dp.runs.layout import ensure_private_dir, key_path, private_dir
from tfpose_dp.training import distribution
from tfpose_dp.training.release_record import ReleaseRecord


def run_key(
    model_dir,
    seed,
    reproducible,
    strategy,
    chief,
    resuming=False,
    ledger_steps=0,
    in_checkpoint=None,
):
    """The run's DP key on every worker (the chief reads or draws it, then sends it), and the
    chief's ReleaseRecord (None elsewhere) with the released steps the starting checkpoint's
    ledger (`ledger_steps`) lacks: `(key, record, discarded [q, sigma, steps] segments)`.

    A new run draws a fresh key from the OS; a resumed run (or one restarted before its first
    checkpoint) reads MODEL_DIR/private/dp_key back, in a new generation when steps would
    otherwise be released twice. Every start mixes a fresh nonce into the streams. The chief
    locks an existing MODEL_DIR for its process (a new one when its key is written).
    `in_checkpoint`: the release record the starting checkpoint holds. `reproducible` derives
    the key from the public seed: no DP guarantee.
    """
    if reproducible:
        logging.warning(
            "--reproducible_noise: noise, Poisson sampling and audit coins come from "
            "the public --seed=%d; this run carries NO differential-privacy guarantee",
            seed,
        )
        return DPKey.from_public_seed(seed), None, []
    key, record = None, None
    if chief:
        lock_model_dir(model_dir)
        path = key_path(model_dir)
        exists = os.path.exists(path)
        # A resumed run needs its own key (DPKey.load says so clearly when it is missing).
        key = DPKey.load(path) if resuming or exists else DPKey.generate()
        record = ReleaseRecord.at_start(model_dir, ledger_steps, in_checkpoint, exists)
        key = key.with_generation(record.generation).with_nonce(record.nonce)
        if record.discarded:
            logging.warning(
                "%d released step(s) are not in the starting checkpoint (a crash after it, or "
                "an earlier ckpt-* chosen): they stay charged to the privacy ledger at the "
                "(q, sigma) they were released with, and the steps re-run from here draw fresh "
                "noise (key generation %d)",
                record.discarded,
                record.generation,
            )
    key, discarded = distribution.broadcast_key(
        strategy, key, chief, record.discarded_segments if record else []
    )
    return key, record, discarded


def persist_key(model_dir, key, record, chief):
    """Writes a new run's key to MODEL_DIR/private/dp_key (mode 0600), once, and the release
    record (its new generation) before any step is released."""
    if not chief or key.public:
        return
    os.makedirs(model_dir, exist_ok=True)
    lock_model_dir(model_dir)  # a new MODEL_DIR: locked before its first file
    record.save()
    path = key_path(model_dir)
    if os.path.exists(path):
        return
    ensure_private_dir(model_dir)
    key.save(path)
    logging.info(
        "New secret DP key %s (from the OS CSPRNG) written to %s: never share %s/",
        key.fingerprint(),
        path,
        private_dir(model_dir),
    )
