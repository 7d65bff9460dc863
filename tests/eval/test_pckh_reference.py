"""Our MPII table against a separate implementation of the reference formula (the one HRNet and
mmpose ship), on random gt_valid.mat data with missing joints and joints exactly on a threshold."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tfpose_dp.skeleton import PCKH_JOINT_NAMES

REPO = __file__.rsplit("/tests/", 1)[0]


def _reference_table(pos_pred_src, pos_gt_src, jnt_missing, headboxes_src):
    """The reference computation, written from its definition: per-joint PCKh, Head = head top,
    pairs averaged, joint-count weighted mean over all joints but pelvis (6) and thorax (7)."""
    visible = 1 - jnt_missing
    err = np.linalg.norm(pos_pred_src - pos_gt_src, axis=1)  # (16, N)
    head = np.linalg.norm(headboxes_src[1] - headboxes_src[0], axis=0) * 0.6
    scaled = err / (head * np.ones((len(err), 1)))
    count = visible.sum(1)

    def pck(threshold):
        return 100.0 * ((scaled <= threshold) * visible).sum(1) / count

    p5, p1 = pck(0.5), pck(0.1)
    ratio = count.astype(np.float64).copy()
    ratio[6:8] = 0
    ratio /= ratio.sum()
    return {
        "Head": p5[9],
        "Shoulder": 0.5 * (p5[13] + p5[12]),
        "Elbow": 0.5 * (p5[14] + p5[11]),
        "Wrist": 0.5 * (p5[15] + p5[10]),
        "Hip": 0.5 * (p5[3] + p5[2]),
        "Knee": 0.5 * (p5[4] + p5[1]),
        "Ankle": 0.5 * (p5[5] + p5[0]),
        "Mean": np.sum(p5 * ratio),
        "Mean@0.1": np.sum(p1 * ratio),
    }, p5


def _random_case(seed, n=60):
    rng = np.random.default_rng(seed)
    pos = rng.integers(20, 400, (16, 2, n)).astype(np.float64)
    top_left = rng.integers(0, 300, (2, n)).astype(np.float64)
    sides = np.array([[30.0], [40.0]]) * rng.integers(1, 4, (1, n))  # diagonal 50, 100 or 150
    boxes = np.stack([top_left, top_left + sides])  # (2, 2, N): head size 30, 60 or 90
    missing = (rng.random((16, n)) < 0.2).astype(np.float64)
    missing[:, 0] = 0  # every joint annotated somewhere
    head = 0.6 * np.linalg.norm(sides, axis=0)
    # errors spread around both thresholds, some exactly on them
    pred = pos + rng.normal(0, 1, (16, 2, n)) * head * rng.choice([0.05, 0.2, 0.6], (16, 1, n))
    for divisor in (2.0, 10.0):  # errors of exactly 0.5 and 0.1 head sizes (head sizes 30, 60, 90)
        on = rng.random((16, n)) < 0.1
        pred[:, 0, :] = np.where(on, pos[:, 0, :] + head / divisor, pred[:, 0, :])
        pred[:, 1, :] = np.where(on, pos[:, 1, :], pred[:, 1, :])
    return pos, missing, boxes, pred


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_column_equals_the_reference_formula(tmp_path, seed):
    from scipy.io import savemat

    pos, missing, boxes, pred = _random_case(seed)
    savemat(
        tmp_path / "gt_valid.mat",
        {"pos_gt_src": pos, "jnt_missing": missing, "headboxes_src": boxes},
    )
    preds = [
        {"image": str(i), "joints": (pred[:, :, i] - 1.0).tolist()} for i in range(pos.shape[2])
    ]
    (tmp_path / "preds.json").write_text(json.dumps(preds))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfpose_dp.evaluate",
            f"--predictions={tmp_path / 'preds.json'}",
            f"--annotations={tmp_path / 'gt_valid.mat'}",
            f"--output_json={tmp_path / 't.json'}",
            "--per_joint",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    ours = json.loads((tmp_path / "t.json").read_text())
    reference, per_joint = _reference_table(pred, pos, missing, boxes)
    for column, value in reference.items():
        assert ours[column] == pytest.approx(value, abs=1e-9), column
    assert list(ours["per_joint"]) == list(PCKH_JOINT_NAMES)
    np.testing.assert_allclose(list(ours["per_joint"].values()), per_joint, atol=1e-9)
    assert "lwri" in out.stdout  # --per_joint prints the joint row
    assert 0 < reference["Mean"] < 100 and reference["Head"] != reference["Mean"]
