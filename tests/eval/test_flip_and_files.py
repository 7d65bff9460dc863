import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.data.annotations import load_records
from tfpose_dp.data.pipeline import eval_dataset
from tfpose_dp.eval.flip_test import flip_test_logits, unflip_logits
from tfpose_dp.eval.predictions import crop_to_original
from tfpose_dp.models.pose_model import build_pose_model
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.skeleton import MPII16

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_unflip_maps_mirrored_positions_back_and_swaps_joints():
    codec = SimCCCodec((64, 48), split_ratio=2.0)
    u = np.arange(16, dtype=np.float32) + 3.0  # joint j at x = j + 3 in the mirrored crop
    kp = np.stack([u, np.full(16, 20.0, np.float32)], -1)[None]
    tx, ty, _ = codec.encode(kp, np.ones((1, 16)))
    x, y = unflip_logits(tf.math.log(tx + 1e-9), tf.math.log(ty + 1e-9), codec)
    decoded, _ = codec.decode(x, y)
    perm = MPII16.flip_permutation()
    expected = 48 - 1 - u[perm]  # pixel u in the mirror is W-1-u in the original, joints swapped
    np.testing.assert_allclose(decoded.numpy()[0, :, 0], expected, atol=0.5)


def test_symmetric_input_gives_mirrored_outputs():
    model = build_pose_model("tiny_vit_micro", (64, 48), norm="group")
    half = tf.random.normal((1, 64, 24, 3))
    image = tf.concat([half, tf.reverse(half, [2])], axis=2)  # left-right symmetric
    out = model(image)
    codec = SimCCCodec((64, 48), 2.0)
    fx, fy = unflip_logits(out["simcc_x"], out["simcc_y"], codec)
    # The flip-test average of a symmetric crop is invariant to mirroring the logits again.
    ax, ay = flip_test_logits(model, image, codec)
    bx, by = unflip_logits(ax, ay, codec)
    np.testing.assert_allclose(ay.numpy(), by.numpy(), atol=1e-5)
    np.testing.assert_allclose(ax.numpy()[..., 2:-2], bx.numpy()[..., 2:-2], atol=1e-5)
    np.testing.assert_allclose(
        fy.numpy(), tf.gather(out["simcc_y"], MPII16.flip_permutation(), axis=1).numpy(), atol=1e-6
    )


def test_crop_targets_map_back_to_original_joints(mpii_sample):
    records = load_records(f"{mpii_sample}/test_mpii.json", mpii_sample)
    codec = SimCCCodec((64, 48))
    batch = next(iter(eval_dataset(records, (64, 48), codec, batch_size=5)))
    kp, _ = codec.decode(
        tf.math.log(batch["target_x"] + 1e-9), tf.math.log(batch["target_y"] + 1e-9)
    )
    back = crop_to_original(kp, batch["crop_to_image"]).numpy()
    pixels_per_crop_pixel = batch["crop_to_image"].numpy()[:, 0, 0]
    err = np.linalg.norm(back - records.joints, axis=-1)
    bound = pixels_per_crop_pixel[:, None] * (0.5 / codec.split_ratio) * np.sqrt(2) + 1e-3
    inside = batch["target_weight"].numpy() > 0
    assert np.all(err[inside] <= np.broadcast_to(bound, err.shape)[inside])


def _evaluate(*args):
    return subprocess.run(
        [sys.executable, "-m", "tfpose_dp.evaluate", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_predictions_file_against_our_json(tmp_path):
    gt = []
    rng = np.random.default_rng(0)
    for i in range(3):
        joints = rng.uniform(10, 200, (16, 2))
        gt.append(
            {
                "image": f"{i}.jpg",
                "center": [100, 100],
                "scale": 1.0,
                "joints": joints.tolist(),
                "joints_vis": [1] * 16,
                "head_box": [0, 0, 30, 40],
            }
        )
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    preds = [{"image": g["image"], "joints": (np.array(g["joints"]) - 1.0).tolist()} for g in gt]
    preds[0]["joints"][0] = [0.0, 0.0]  # one wrong ankle
    (tmp_path / "preds.json").write_text(json.dumps(preds))
    out = _evaluate(
        f"--predictions={tmp_path / 'preds.json'}",
        f"--annotations={tmp_path / 'gt.json'}",
        f"--output_json={tmp_path / 'table.json'}",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    table = json.loads((tmp_path / "table.json").read_text())
    assert table["Ankle"] == pytest.approx(100 * 5 / 6)
    assert table["Mean"] == pytest.approx(100 * 41 / 42)
    assert "Mean@0.1" in out.stdout


def test_predictions_file_against_gt_valid_mat(tmp_path):
    from scipy.io import savemat

    n = 4
    rng = np.random.default_rng(1)
    pos = rng.uniform(50, 300, (16, 2, n))
    missing = np.zeros((16, n))
    missing[9, 0] = 1  # head top not annotated for person 0
    boxes = np.zeros((2, 2, n))
    boxes[1] = 50.0
    savemat(
        tmp_path / "gt_valid.mat",
        {"pos_gt_src": pos, "jnt_missing": missing, "headboxes_src": boxes},
    )
    preds = [{"image": f"{i}", "joints": (pos[:, :, i] - 1.0).tolist()} for i in range(n)]
    preds[0]["joints"][9] = [0.0, 0.0]  # wrong but not annotated: ignored
    (tmp_path / "p.json").write_text(json.dumps(preds))
    out = _evaluate(
        f"--predictions={tmp_path / 'p.json'}",
        f"--annotations={tmp_path / 'gt_valid.mat'}",
        f"--output_json={tmp_path / 't.json'}",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((tmp_path / "t.json").read_text())["Mean"] == pytest.approx(100.0)


def test_prediction_count_mismatch_is_a_clear_error(tmp_path):
    (tmp_path / "gt.json").write_text(
        json.dumps([{"image": "a", "joints": [[1, 1]] * 16, "head_box": [0, 0, 1, 1]}])
    )
    (tmp_path / "p.json").write_text("[]")
    out = _evaluate(f"--predictions={tmp_path / 'p.json'}", f"--annotations={tmp_path / 'gt.json'}")
    assert out.returncode != 0 and "same order" in out.stderr
