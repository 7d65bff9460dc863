"""MPII PCKh, as the reference MPII evaluation (HRNet/mmpose) computes it.

A joint is correct when its error is `<=` threshold x head size (so a joint exactly on the
threshold counts), head size = 0.6 x the head-box diagonal; only annotated joints count.
* per joint: PCKh[j] = 100 x correct_j / annotated_j;
* Head = PCKh[head top]; Shoulder ... Ankle = 0.5 x (PCKh[left] + PCKh[right]);
* Mean = sum_j PCKh[j] x annotated_j / sum_j annotated_j over every joint but pelvis and
  thorax (joint-count weighted, upper neck included although it has no column);
  Mean@0.1 the same at threshold 0.1 (mmpose 1.x; HRNet's code reports threshold 0.11 under
  that name).
A joint annotated nowhere has PCKh nan, as in the reference.
"""

import numpy as np

from tfpose_dp.skeleton import PCKH_COLUMNS, PCKH_EXCLUDED, PCKH_JOINT_NAMES

TABLE_COLUMNS = tuple(name for name, _ in PCKH_COLUMNS) + ("Mean", "Mean@0.1")


def correct_mask(pred, gt, visible, head_sizes, threshold):
    """(N, K) bool: joint within threshold * head size (only meaningful where visible)."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    err = np.linalg.norm(pred - gt, axis=-1)
    scaled = err / np.maximum(np.asarray(head_sizes, np.float64)[:, None], 1e-9)
    return (scaled <= threshold) & (np.asarray(visible) > 0)


def per_joint_pckh(pred, gt, visible, head_sizes, threshold=0.5):
    """(K,) PCKh of every joint in percent (nan where a joint is never annotated), and counts."""
    visible = np.asarray(visible) > 0
    counts = visible.sum(0).astype(np.float64)
    correct = correct_mask(pred, gt, visible, head_sizes, threshold).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * correct / counts, counts


def _weighted_mean(pckh, counts):
    keep = np.ones(len(counts), bool)
    keep[list(PCKH_EXCLUDED)] = False
    total = counts[keep].sum()
    if not total:
        return float("nan")
    return float(np.sum(np.where(counts[keep] > 0, pckh[keep], 0.0) * counts[keep]) / total)


def pckh_table(pred, gt, visible, head_sizes, per_joint=False):
    """{"Head": %, ..., "Ankle": %, "Mean": %, "Mean@0.1": %}; with `per_joint` also
    {"per_joint": {"rank": %, ..., "lwri": %}} at threshold 0.5."""
    pckh, counts = per_joint_pckh(pred, gt, visible, head_sizes, 0.5)
    pckh_01, _ = per_joint_pckh(pred, gt, visible, head_sizes, 0.1)
    table = {name: float(np.mean(pckh[list(joints)])) for name, joints in PCKH_COLUMNS}
    table["Mean"] = _weighted_mean(pckh, counts)
    table["Mean@0.1"] = _weighted_mean(pckh_01, counts)
    if per_joint:
        table["per_joint"] = {name: float(v) for name, v in zip(PCKH_JOINT_NAMES, pckh)}
    return table


def format_table(table):
    """The MPII table as two text rows; a third and fourth with the per-joint values if present."""
    head = " | ".join(f"{c:>8}" for c in TABLE_COLUMNS)
    row = " | ".join(f"{table[c]:8.2f}" for c in TABLE_COLUMNS)
    lines = [head, row]
    if "per_joint" in table:
        lines.append(" | ".join(f"{n:>6}" for n in table["per_joint"]))
        lines.append(" | ".join(f"{v:6.2f}" for v in table["per_joint"].values()))
    return "\n".join(lines)
