"""Audit canaries: person records made to be memorable, for the one-run privacy audit.

Each canary is a synthetic person (its own image, a seed range no training set uses) whose
16 joint labels are replaced by random points inside its person box: only memorising a canary
lets a model predict its labels, so its loss under the final model says whether it was
trained on. Canaries and their labels are public (a function of the seed); which of them join
the private training set is the auditor's secret (privacy/audit_bound.py, the audit app).
"""

import numpy as np

from tfpose_dp.data import annotations, synthetic

CANARY_SEED = 0xCA9A  # synthetic people no training set of this package uses


def make_canaries(count, root=None, domain="private"):
    """PoseRecords of `count` canaries (images written once to the synthetic cache)."""
    folder = synthetic.ensure_synthetic_dataset(count, 1, CANARY_SEED, root, domain)
    records = annotations.load_split(folder, "train")
    if len(records) != count:
        raise annotations.AnnotationError(f"{folder}: {len(records)} canaries, expected {count}")
    rng = np.random.default_rng([CANARY_SEED, count])
    half = records.scales[:, None] * 100.0 * np.array([0.6, 1.0])  # half the person box (w, h)
    offsets = rng.uniform(-1.0, 1.0, records.joints.shape) * half[:, None, :]
    records.joints = (records.centers[:, None, :] + offsets).astype(np.float32)
    records.visible = np.ones_like(records.visible)
    records.ids = [(f"canary/{i[0]}", *i[1:]) for i in records.ids]  # images of their own
    return records
