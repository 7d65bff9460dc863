"""Own skeletons end to end: CrowdPose's 14 joints and a made-up 13-joint clinic skeleton, each
from a COCO-format file with no --keypoints, train under DP, validate and evaluate with OKS AP
and export with their joint names; the clinic run starts from an MPII-skeleton preset."""

import json
import os
import subprocess
import sys

import pytest
from skeleton_sets import CLINIC13, CROWDPOSE14

pytestmark = pytest.mark.slow  # end-to-end: trains, evaluates and exports real models

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(module, *args):
    run = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def _train(model_dir, data_dir, *model_flags):
    return _python(
        "tfpose_dp.train",
        f"--data_dir={data_dir}",
        "--data_format=coco",
        *model_flags,
        "--batch_size=16",
        "--physical_batch_size=16",
        "--epsilon=4",
        "--max_steps=2",
        "--noprint_plan",
        f"--model_dir={model_dir}",
    )


def _final_ap(model_dir, evaluate=True):
    with open(os.path.join(model_dir, "final_metrics.json")) as f:
        final = json.load(f)
    assert final["metric"] == "AP" and 0 <= final["AP"] <= 100
    if not evaluate:  # validated with OKS AP in training; evaluate is checked once, above
        return
    scored = _python("tfpose_dp.evaluate", f"--checkpoint={model_dir}", "--noflip_test")
    header, values = scored.stdout.strip().splitlines()[-2:]
    assert header.split()[0] == "AP"
    assert float(values.split("|")[0]) == pytest.approx(final["AP"], abs=0.01)


def _export(model_dir, tmp_path, formats, name):
    out = str(tmp_path / "export")
    _python(
        "tfpose_dp.export",
        f"--checkpoint={model_dir}",
        f"--formats={formats}",
        f"--output_dir={out}",
    )
    return os.path.join(out, name)


def test_crowdpose_joints_train_score_ap_and_export(tmp_path, crowdpose_dir):
    import numpy as np

    import tfpose_dp

    model_dir = str(tmp_path / "run")
    micro = ("--model=tiny_vit_micro", "--norm=group", "--input_size=64,48")
    run = _train(model_dir, crowdpose_dir, *micro)
    assert "--keypoints=from_data: 14 joints" in run.stderr
    assert "flip pairs left_shoulder:right_shoulder" in run.stderr
    _final_ap(model_dir)

    out = str(tmp_path / "export")
    _python(
        "tfpose_dp.export", f"--checkpoint={model_dir}", "--formats=tflite", f"--output_dir={out}"
    )
    estimator = tfpose_dp.load(os.path.join(out, "pose_float32.tflite"))
    assert estimator.joint_names == list(CROWDPOSE14)
    assert estimator.privacy_record["keypoints"] == "from_data"
    assert len(estimator.codec.skeleton.flip_pairs) == 6
    image = np.random.default_rng(0).integers(0, 256, (120, 90, 3), dtype=np.uint8)
    assert estimator.predict(image).shape == (1, 14, 3)


def test_a_clinic_skeleton_fine_tunes_from_an_mpii_preset(tmp_path, clinic_dir):
    model_dir = str(tmp_path / "run")
    run = _train(model_dir, clinic_dir, "--init_from=preset:public_micro")
    assert "--keypoints=from_data: 13 joints" in run.stderr
    assert "12 of this run's 13 joints matched by name, fresh: Head" in run.stderr
    _final_ap(model_dir, evaluate=False)
    out = str(tmp_path / "export")
    _python(
        "tfpose_dp.export", f"--checkpoint={model_dir}", "--formats=onnx", f"--output_dir={out}"
    )
    from tfpose_dp.export import provenance

    record = provenance.read_from_onnx(os.path.join(out, "pose.onnx"))
    assert record["joint_names"] == list(CLINIC13)
    assert record["skeleton"]["limbs"][0] == [0, 1]
