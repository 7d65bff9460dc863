"""Ground truth for scoring a predictions file: our JSON (with head boxes) or gt_valid.mat."""

import json

import numpy as np

from tfpose_dp.data.gt_valid import GroundTruthError, read_gt_valid


def load_ground_truth(path):
    """Returns (image names or None, joints (N,16,2) 0-based, visible (N,16), head sizes (N,))."""
    if path.endswith(".mat"):
        return _from_gt_valid_mat(path)
    with open(path) as f:
        records = json.load(f)
    missing = [i for i, r in enumerate(records) if "head_box" not in r]
    if missing:
        raise GroundTruthError(
            f"{path}: records {missing[:5]} have no head_box; PCKh needs head sizes "
            "(use tools' converted JSON or gt_valid.mat)"
        )
    joints = np.array([r["joints"] for r in records], np.float64) - 1.0
    visible = np.array([r.get("joints_vis", [1] * 16) for r in records], np.float64)
    boxes = np.array([r["head_box"] for r in records], np.float64)
    heads = 0.6 * np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    return [r["image"] for r in records], joints, visible, heads


def _from_gt_valid_mat(path):
    boxes, missing, pos = read_gt_valid(path)
    joints = np.transpose(pos, (2, 0, 1)).astype(np.float64) - 1.0  # (16, 2, N) -> (N, 16, 2)
    visible = 1.0 - np.transpose(missing, (1, 0)).astype(np.float64)
    diag = boxes[1, :, :] - boxes[0, :, :]  # (2, N)
    heads = 0.6 * np.linalg.norm(diag, axis=0)
    return None, joints, visible, heads
