"""Inputs and outputs of inference: detections in, COCO keypoint results out, photos upright,
the tracking crop on a synthetic moving person."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from tfpose_dp.coco_results import Detections, keypoint_results
from tfpose_dp.photo_files import expand, read_rgb


def test_detections_below_the_threshold_or_not_persons_are_dropped(tmp_path):
    entries = [
        {"image_id": 40083, "category_id": 1, "bbox": [1, 2, 30, 40], "score": 0.9},
        {"image_id": 40083, "category_id": 1, "bbox": [5, 5, 10, 10], "score": 0.1},
        {"image_id": 40083, "category_id": 3, "bbox": [5, 5, 10, 10], "score": 0.99},
        {"file_name": "dir/frame_7.png", "category_id": 1, "bbox": [0, 0, 8, 9], "score": 0.5},
    ]
    path = tmp_path / "det.json"
    path.write_text(json.dumps(entries))
    det = Detections.from_file(str(path), score_threshold=0.3)
    boxes, scores = det.for_image("/photos/000000040083.jpg")
    np.testing.assert_array_equal(boxes, [[1, 2, 30, 40]])
    np.testing.assert_allclose(scores, [0.9])
    np.testing.assert_array_equal(det.for_image("frame_7.png")[0], [[0, 0, 8, 9]])
    assert det.for_image("other.jpg")[0].shape == (0, 4)
    path.write_text(json.dumps([{"image_id": 1, "bbox": [1, 2]}]))
    with pytest.raises(ValueError, match="bbox"):
        Detections.from_file(str(path))


def test_keypoint_results_load_in_pycocotools():
    from pycocotools.coco import COCO

    gt = COCO()
    gt.dataset = {
        "images": [{"id": 40083, "width": 500, "height": 333}],
        "annotations": [],
        "categories": [{"id": 1, "name": "person"}],
    }
    gt.createIndex()
    rng = np.random.default_rng(0)
    poses = np.concatenate([rng.uniform(0, 300, (2, 16, 2)), rng.uniform(0, 1, (2, 16, 1))], -1)
    results = keypoint_results(40083, poses.astype("f4"), [[0, 0, 9, 9], [1, 1, 9, 9]], [0.9, 0.5])
    loaded = gt.loadRes(results)
    assert len(loaded.getAnnIds()) == 2
    assert len(results[0]["keypoints"]) == 48 and 0 <= results[1]["score"] <= 0.5


def test_an_exif_rotated_photo_is_read_upright(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)  # stored landscape, 40 wide
    pixels[:, :5] = [255, 0, 0]  # a red band on the stored left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display", as phones tag portrait photos
    path = tmp_path / "portrait.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    upright = read_rgb(str(path))
    assert upright.shape == (40, 20, 3)  # portrait, as a viewer shows it
    assert upright[:5, :, 0].mean() > 200 and upright[-5:, :, 0].mean() < 50  # left -> top


def test_photo_specs_and_unreadable_files(tmp_path):
    for name in ("b.jpg", "a.png"):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    assert [os.path.basename(p) for p in expand(str(tmp_path))] == ["a.png", "b.jpg", "broken.jpg"]
    assert len(expand(str(tmp_path / "*.png"))) == 1
    with pytest.raises(ValueError, match="not a readable image"):
        read_rgb(str(tmp_path / "broken.jpg"))
    with pytest.raises(ValueError, match="no image file"):
        expand(str(tmp_path / "missing"))


def test_the_tracking_crop_follows_a_moving_person_better_than_the_whole_frame():
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "tools"))
    from benchmark_tracking import measure

    import tfpose_dp
    from tfpose_dp.data.synthetic_clip import moving_person_clip

    clip, truth, visible = moving_person_clip(frames=24)
    result = measure(tfpose_dp.load("preset:public_micro"), clip, truth, visible, False)
    tracking, whole = result["tracking"][0], result["whole_frame"][0]
    assert tracking < 0.5 * whole, result
