"""MPII PCKh: a joint is correct when its error is within threshold x head size.

Head size = 0.6 x the head-box diagonal (the MPII protocol). Only annotated joints count.
The comparison is `<=` as in the reference MPII evaluation used by HRNet/mmpose, so a
joint exactly on the threshold is correct. The mean excludes pelvis and thorax and
weights every counted joint equally (the "joint-count weighted" MPII mean).
"""
import numpy as np

from tfpose_dp.data.joints import PCKH_GROUPS

TABLE_COLUMNS = tuple(name for name, _ in PCKH_GROUPS) + ("Mean", "Mean@0.1")


def correct_mask(pred, gt, visible, head_sizes, threshold):
    """(N, K) bool: joint within threshold * head size (only meaningful where visible)."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    err = np.linalg.norm(pred - gt, axis=-1)
    scaled = err / np.maximum(np.asarray(head_sizes, np.float64)[:, None], 1e-9)
    return (scaled <= threshold) & (np.asarray(visible) > 0)


def pckh_table(pred, gt, visible, head_sizes):
    """Returns {"Head": %, ..., "Ankle": %, "Mean": %, "Mean@0.1": %} (percentages)."""
    visible = np.asarray(visible) > 0
    table = {}
    for threshold, key in ((0.5, "Mean"), (0.1, "Mean@0.1")):
        ok = correct_mask(pred, gt, visible, head_sizes, threshold)
        used = np.zeros_like(visible)
        for name, joints in PCKH_GROUPS:
            cols = list(joints)
            used[:, cols] = visible[:, cols]
            if threshold == 0.5:
                count = visible[:, cols].sum()
                table[name] = 100.0 * ok[:, cols].sum() / count if count else float("nan")
        total = used.sum()
        table[key] = 100.0 * (ok & used).sum() / total if total else float("nan")
    return {k: table[k] for k in TABLE_COLUMNS}


def format_table(table):
    head = " | ".join(f"{c:>8}" for c in TABLE_COLUMNS)
    row = " | ".join(f"{table[c]:8.2f}" for c in TABLE_COLUMNS)
    return f"{head}\n{row}"
