"""The run's DP key: drawn by the chief when a run starts, read back when it resumes, sent to
the other workers over the collective (privacy/dp_key.py says what it protects)."""

import os

from absl import logging

from tfpose_dp.privacy.dp_key import DPKey
from tfpose_dp.runs.layout import ensure_private_dir, key_path, private_dir


def run_key(model_dir, seed, reproducible, chief):
    """The run's DP key on the chief (None on other workers: they receive it by broadcast).

    A new run draws a fresh key from the OS and keeps it in MODEL_DIR/private/dp_key; a resumed
    run (or one restarted before its first checkpoint) reads it back, so the noise and sampling
    sequence continues. `reproducible` derives it from the public seed: no DP guarantee.
    """
    if reproducible:
        logging.warning(
            "--reproducible_noise: noise and Poisson sampling come from the public "
            "--seed=%d; this run carries NO differential-privacy guarantee",
            seed,
        )
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
    logging.info(
        "New secret DP key %s (from the OS CSPRNG) written to %s: never share %s/",
        key.fingerprint(),
        path,
        private_dir(model_dir),
    )
    return key
