"""COCO's results formats at the edges of inference: person boxes in, keypoints out.

Detections in (what mmdet, ultralytics and detectron2 write): a JSON list of
`{"image_id" or "file_name", "category_id", "bbox": [x, y, w, h], "score"}`. An entry belongs
to an image file when its `file_name` is the file's name, or its `image_id` is the file's stem
(`000000040083.jpg` is image 40083, COCO's naming, or "frame_7" for `frame_7.png`). Only
persons (category 1) at or above the score threshold are kept.

Keypoints out (what pycocotools' `loadRes` reads): `{"image_id", "category_id": 1,
"keypoints": [x, y, score] * J, "score", "bbox"}`, the pose score being the mean score of the
confident joints (> 0.2) times the box's detection score, as mmpose writes it.

>>> image_id_of("images/000000040083.jpg"), image_id_of("frame_7.png")
(40083, 'frame_7')
"""

import json
import os

import numpy as np

PERSON = 1
CONFIDENT_JOINT = 0.2


def image_id_of(path):
    """COCO's image id for a file: its stem as an int when numeric, else the stem."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return int(stem) if stem.isdigit() else stem


class Detections:
    """Person boxes per image file, read from a COCO detection-results JSON."""

    def __init__(self, entries, score_threshold=0.0):
        self._by_name, self._by_id = {}, {}
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or len(entry.get("bbox", ())) != 4:
                raise ValueError(
                    f"detection {i} is {entry!r}: each entry needs a 'bbox' [x, y, w, h] "
                    "(COCO detection-results format)"
                )
            if entry.get("category_id", PERSON) != PERSON:
                continue
            if float(entry.get("score", 1.0)) < score_threshold:
                continue
            box = ([float(v) for v in entry["bbox"]], float(entry.get("score", 1.0)))
            if "file_name" in entry:
                self._by_name.setdefault(os.path.basename(entry["file_name"]), []).append(box)
            elif "image_id" in entry:
                self._by_id.setdefault(_id_key(entry["image_id"]), []).append(box)
            else:
                raise ValueError(f"detection {i} names no image: give 'image_id' or 'file_name'")

    @classmethod
    def from_file(cls, path, score_threshold=0.0):
        try:
            with open(path) as f:
                entries = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"--detections={path} is not a readable JSON file: {e}") from e
        if isinstance(entries, dict) and "annotations" in entries:  # a COCO annotation file
            entries = entries["annotations"]
        if not isinstance(entries, list):
            raise ValueError(f"--detections={path}: expected a JSON list of detections")
        return cls(entries, score_threshold)

    def for_image(self, path):
        """(boxes (n, 4), detection scores (n,)) of one image file; n may be 0."""
        found = self._by_name.get(os.path.basename(path)) or self._by_id.get(
            _id_key(image_id_of(path)), []
        )
        boxes = np.array([b for b, _ in found], np.float32).reshape(-1, 4)
        return boxes, np.array([s for _, s in found], np.float32)


def _id_key(image_id):
    return str(int(image_id)) if str(image_id).isdigit() else str(image_id)


def keypoint_results(image_id, poses, boxes, box_scores=None):
    """COCO keypoint results of one image: poses (n, J, 3) from PoseEstimator.predict."""
    results = []
    for i, (pose, box) in enumerate(zip(poses, boxes)):
        scores = pose[:, 2]
        confident = scores[scores > CONFIDENT_JOINT]
        score = float(confident.mean() if confident.size else scores.mean())
        if box_scores is not None:
            score *= float(box_scores[i])
        results.append(
            {
                "image_id": image_id,
                "category_id": PERSON,
                "keypoints": [round(float(v), 3) for v in pose.reshape(-1)],
                "score": round(score, 5),
                "bbox": [round(float(v), 2) for v in box],
            }
        )
    return results
