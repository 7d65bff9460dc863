import json
import os

import numpy as np
import pytest
from scipy.io import savemat


def _struct_array(dicts):
    """A 1xN MATLAB struct array (scipy writes a dict as a 1x1 struct)."""
    names = list(dicts[0])
    arr = np.empty((1, len(dicts)), dtype=[(n, object) for n in names])
    for i, d in enumerate(dicts):
        for n in names:
            arr[n][0, i] = d[n]
    return arr


def head_box(rec):
    """A head box around upper neck and head top (the sample has none)."""
    (x1, y1), (x2, y2) = rec["joints"][8], rec["joints"][9]
    half = 0.5 * float(np.hypot(x2 - x1, y2 - y1))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return [cx - half, cy - half, cx + half, cy + half]


def _rect(rec):
    points = [
        {"id": j, "x": x, "y": y, "is_visible": 1}
        for j, (x, y) in enumerate(rec["joints"])
        if rec["joints_vis"][j]
    ]
    x1, y1, x2, y2 = head_box(rec)
    return {
        "x1": x1,
        "y1": y1,
        "x2": x2,
        "y2": y2,
        "annopoints": {"point": _struct_array(points)},
        "scale": rec["scale"],
        "objpos": {"x": rec["center"][0], "y": rec["center"][1]},
    }


@pytest.fixture
def mpii_release(mpii_sample, tmp_path):
    """(release .mat, gt_valid.mat, sample records) in the official layouts, from the sample.

    The release also holds a test image (img_train 0), a person without joints and one image
    with two persons; gt_valid.mat holds records 3 and 1 (in that order).
    """
    with open(os.path.join(mpii_sample, "test_mpii.json")) as f:
        records = json.load(f)
    empty = {
        "x1": 1.0,
        "y1": 1.0,
        "x2": 9.0,
        "y2": 9.0,
        "annopoints": np.zeros((0, 0)),
        "scale": 1.0,
        "objpos": {"x": 5.0, "y": 5.0},
    }
    entries = [
        {"image": {"name": r["image"]}, "annorect": _struct_array([_rect(r)])} for r in records
    ]
    entries[0]["annorect"] = _struct_array([_rect(records[0]), empty])
    entries.append(
        {"image": {"name": "test_only.jpg"}, "annorect": _struct_array([_rect(records[2])])}
    )
    release = {"annolist": _struct_array(entries), "img_train": np.array([[1, 1, 1, 1, 1, 0]])}
    mat = str(tmp_path / "mpii_human_pose_v1_u12_1.mat")
    savemat(mat, {"RELEASE": release})
    valid = [records[3], records[1]]
    boxes = np.array([head_box(r) for r in valid])  # (N, 4)
    headboxes = np.stack([boxes[:, :2].T, boxes[:, 2:].T])  # (2, 2, N): [corner, xy, n]
    pos = np.transpose(np.array([r["joints"] for r in valid]), (1, 2, 0))
    missing = 1 - np.array([r["joints_vis"] for r in valid]).T
    gt_valid = str(tmp_path / "gt_valid.mat")
    savemat(gt_valid, {"headboxes_src": headboxes, "jnt_missing": missing, "pos_gt_src": pos})
    return mat, gt_valid, records
