"""python -m tfpose_dp.predict and export end to end: photos with detections, a video, the
exported TFLite/ONNX files against the Keras model, and the crop an app does by hand."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

pytestmark = pytest.mark.slow  # runs the apps in subprocesses

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTO = "000000040083.jpg"  # two people
BOXES = [[38.08, 110.95, 174.71, 174.71], [257.76, 139.06, 140.05, 154.21]]


def _run(*args):
    out = subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    _run(
        "tfpose_dp.export",
        "--checkpoint=preset:public_micro",
        f"--output_dir={folder}",
        "--formats=tflite,onnx",
    )
    return folder


def test_export_of_a_preset_puts_the_keypoints_first(exported):
    interpreter = tf.lite.Interpreter(model_path=str(exported / "pose_float32.tflite"))
    names = [d["name"] for d in interpreter.get_output_details()]
    assert names == ["keypoints", "scores", "simcc_x", "simcc_y"]
    assert interpreter.get_output_details()[0]["shape"].tolist() == [1, 16, 2]


@pytest.mark.parametrize("artifact", ["pose_float32.tflite", "pose.onnx"])
def test_exported_models_predict_as_the_keras_model(exported, artifact, coco_sample):
    import tfpose_dp
    from tfpose_dp.photo_files import read_rgb

    image = read_rgb(os.path.join(coco_sample, PHOTO))
    keras = tfpose_dp.load("preset:public_micro").predict(image, BOXES)
    served = tfpose_dp.load(str(exported / artifact)).predict(image, BOXES)
    error = np.linalg.norm(keras[..., :2] - served[..., :2], axis=-1)
    assert error.max() <= 1.0, error


def test_the_documented_app_crop_runs_the_tflite_file(exported):
    """docs/export.md's reference code, run as written, against the estimator."""
    import tfpose_dp
    from tfpose_dp.data.synthetic import make_sample

    with open(os.path.join(REPO, "docs", "export.md")) as f:
        text = f.read()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(code, "docs/export.md", "exec"), namespace)
    image = np.asarray(make_sample(0, 2)[0])
    box = [20.0, 10.0, 120.0, 170.0]
    by_hand = namespace["pose_in_image"](str(exported / "pose_float32.tflite"), image, box)
    est = tfpose_dp.load(str(exported / "pose_float32.tflite"))
    by_api = est.predict(image, [box], flip_test=False)[0]
    # PIL's and TensorFlow's bilinear sampling round apart: a joint may move by one SimCC bin
    k = max(1.25 * box[2], 1.25 * box[3] * 72 / 96) / 72  # image pixels per crop pixel
    error = np.abs(by_hand - by_api[:, :2])
    assert error.max() <= k / 2 + 1e-3 and error.mean() < 0.1, error


def test_photos_with_detections_give_coco_results(tmp_path, coco_sample):
    from pycocotools.coco import COCO

    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(os.path.join(coco_sample, PHOTO), photos)
    (photos / "broken.jpg").write_bytes(b"no image")
    detections = [
        {"image_id": 40083, "category_id": 1, "bbox": BOXES[0], "score": 0.95},
        {"image_id": 40083, "category_id": 1, "bbox": BOXES[1], "score": 0.9},
        {"image_id": 40083, "category_id": 1, "bbox": [0, 0, 50, 50], "score": 0.2},
    ]
    (tmp_path / "det.json").write_text(json.dumps(detections))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfpose_dp.predict",
            "--checkpoint=preset:public_micro",
            f"--image={photos}",
            f"--detections={tmp_path / 'det.json'}",
            "--det_score_threshold=0.5",
            f"--output_dir={tmp_path / 'out'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 1 and "broken.jpg" in out.stderr  # reported; the rest is written
    with open(tmp_path / "out" / "keypoints.json") as f:
        results = json.load(f)
    assert len(results) == 2  # the 0.2 box is dropped
    for result, (x, y, w, h) in zip(results, BOXES):
        joints = np.array(result["keypoints"]).reshape(-1, 3)
        inside = (joints[:, 0] >= x) & (joints[:, 0] <= x + w) & (joints[:, 1] >= y)
        assert (inside & (joints[:, 1] <= y + h)).mean() >= 0.75
    gt = COCO(os.path.join(coco_sample, "test_coco.json"))
    assert len(gt.loadRes(str(tmp_path / "out" / "keypoints.json")).getAnnIds()) == 2
    assert (tmp_path / "out" / "000000040083_pose.png").stat().st_size > 10_000


def test_a_video_is_tracked_and_written_annotated(tmp_path):
    from tfpose_dp.data.synthetic_clip import moving_person_clip
    from tfpose_dp.video_files import write_video

    clip, _, _ = moving_person_clip(frames=8, width=320, height=240)
    write_video(str(tmp_path / "walk.mp4"), clip, fps=8)
    out = _run(
        "tfpose_dp.predict",
        "--checkpoint=preset:public_micro",
        f"--video={tmp_path / 'walk.mp4'}",
        f"--output_dir={tmp_path / 'out'}",
        "--noflip_test",
    )
    assert "fps" in out.stdout
    with open(tmp_path / "out" / "keypoints.json") as f:
        results = json.load(f)
    assert [r["image_id"] for r in results] == list(range(8))
    assert (tmp_path / "out" / "walk_pose.mp4").stat().st_size > 1000


def test_int8_export_of_a_synthetic_run_calibrates_without_writing_data(tmp_path):
    cache = tmp_path / "cache"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfpose_dp.export",
            "--checkpoint=preset:public_micro",
            f"--output_dir={tmp_path / 'export'}",
            "--formats=tflite",
            "--quantize=int8",
            "--representative_count=8",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TFPOSE_DP_CACHE": str(cache)},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "export" / "pose_int8.tflite").stat().st_size > 100_000
    assert not cache.exists() or not any(cache.iterdir())  # no synthetic set was written
