"""Calibrated noise multipliers kept on disk, so a repeated command does not calibrate again.

sigma is a pure function of public settings (q, steps, eps, delta, the accountant and its
library's version) and takes ~1-15 s of PLD arithmetic; a grid, a rerun or the test suite asks
for the same few values many times. Nothing private is in the file (N and B are public), so it
lives in the cache folder, not in MODEL_DIR/private/.
"""

import json
import os
import tempfile
from importlib import metadata

from tfpose_dp.data.cache_root import cache_root
from tfpose_dp.privacy import accounting

FILE = "noise_multipliers.json"


def _key(*settings):
    return json.dumps([repr(s) for s in settings] + [metadata.version("dp-accounting")])


def _read(path):
    try:
        with open(path) as f:
            table = json.load(f)
        return table if isinstance(table, dict) else {}
    except (OSError, ValueError):
        return {}  # absent or half-written by a crash: calibrate again


def noise_multiplier(sampling_rate, steps, epsilon, delta, kind, write=True):
    """`accounting.calibrate_noise_multiplier(...)`, read from the cache when it holds it;
    `write`: add a new value to the cache (a dry run writes nothing)."""
    path = os.path.join(cache_root(), FILE)
    key = _key(sampling_rate, steps, epsilon, delta, kind)
    cached = _read(path).get(key)
    if cached is not None:
        return float(cached)
    sigma = accounting.calibrate_noise_multiplier(sampling_rate, steps, epsilon, delta, kind)
    if write:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        table = {**_read(path), key: sigma}
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".noise_")
        with os.fdopen(fd, "w") as f:
            json.dump(table, f)
        os.replace(tmp, path)  # atomic: a reader sees the old table or the new one
    return sigma
