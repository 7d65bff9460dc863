"""The COCO path end to end: a 17-joint model trains on the built-in people in COCO format,
validates with OKS AP, is scored by `evaluate` and exports with its joint names; a 16-joint
model pretrains non-privately on COCO-format annotation files given by name."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.skeleton import COCO17

pytestmark = pytest.mark.slow  # end-to-end: trains and exports real models

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(module, args):
    run = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def _train(model_dir, root, keypoints, *extra):
    return _python(
        "tfpose_dp.train",
        [
            "--model=tiny_vit_micro",
            "--norm=group",
            "--input_size=64,48",
            "--data_format=coco",
            f"--keypoints={keypoints}",
            "--synthetic_train=120",
            "--synthetic_val=24",
            f"--synthetic_root={root}",
            "--batch_size=16",
            "--physical_batch_size=16",
            "--epsilon=4",
            "--max_steps=3",
            "--noprint_plan",
            f"--model_dir={model_dir}",
            *extra,
        ],
    )


def test_a_17_joint_model_trains_validates_with_ap_and_exports(tmp_path):
    model_dir = str(tmp_path / "run")
    run = _train(model_dir, str(tmp_path / "cache"), "coco17")
    assert "COCO format" in run.stderr and "val AP " in run.stderr
    with open(os.path.join(model_dir, "final_metrics.json")) as f:
        final = json.load(f)
    assert final["metric"] == "AP" and 0 <= final["AP"] <= 100 and "AP50" in final
    assert "pckh@0.5" not in final

    scored = _python("tfpose_dp.evaluate", [f"--checkpoint={model_dir}", "--noflip_test"])
    header, values = scored.stdout.strip().splitlines()[-2:]
    assert header.split()[0] == "AP"
    assert float(values.split("|")[0]) == pytest.approx(final["AP"], abs=0.01)

    out = str(tmp_path / "export")
    _python(
        "tfpose_dp.export",
        [f"--checkpoint={model_dir}", "--formats=tflite,onnx", f"--output_dir={out}"],
    )
    from tfpose_dp.export import formats, provenance
    from tfpose_dp.export.serving import serving_function
    from tfpose_dp.runs.restore import load_trained_model

    model, codec, _ = load_trained_model(model_dir)
    crop = np.random.default_rng(0).integers(0, 256, (1, 64, 48, 3), dtype=np.uint8)
    reference = serving_function(model, codec)(tf.constant(crop))
    with open(os.path.join(out, "pose_float32.tflite"), "rb") as f:
        content = f.read()
    lite = formats.run_tflite(content, crop)
    assert lite["keypoints"].shape == (1, 17, 2)
    np.testing.assert_allclose(lite["simcc_x"], reference["simcc_x"].numpy(), atol=1e-4)
    record = provenance.read_from_tflite(content)
    assert record["keypoints"] == "coco17" and record["joint_names"] == list(COCO17.joint_names)
    assert provenance.read_from_onnx(os.path.join(out, "pose.onnx"))["joint_names"][0] == "nose"


def test_a_16_joint_model_pretrains_on_coco_annotation_files(tmp_path):
    """A public pretraining of the MPII model on COCO-format files given by name (as a CVAT
    export would be), its images in --image_dir; evaluate reads the run's own val file."""
    from tfpose_dp.data.synthetic_coco import ensure_synthetic_coco

    folder = os.path.join(ensure_synthetic_coco(120, 24, 0, str(tmp_path / "cache")), "annotations")
    model_dir = str(tmp_path / "run")
    run = _train(
        model_dir,
        str(tmp_path / "cache"),
        "mpii16",
        "--nonprivate",
        f"--train_annotations={folder}/person_keypoints_train2017.json",
        f"--val_annotations={folder}/person_keypoints_val2017.json",
        f"--image_dir={folder}/../images",
    )
    assert "person_keypoints_val2017.json (val)" in run.stderr
    with open(os.path.join(model_dir, "final_metrics.json")) as f:
        final = json.load(f)
    assert final["metric"] == "AP"  # COCO data: OKS with mmpose's MPII sigmas
    from tfpose_dp.runs.restore import load_trained_model

    model, _, manifest = load_trained_model(model_dir)
    assert model.output["simcc_x"].shape[1] == 16 and manifest.config.model.keypoints == "mpii16"
    scored = _python("tfpose_dp.evaluate", [f"--checkpoint={model_dir}", "--noflip_test"])
    assert float(scored.stdout.strip().splitlines()[-1].split("|")[0]) == pytest.approx(
        final["AP"], abs=0.01
    )
