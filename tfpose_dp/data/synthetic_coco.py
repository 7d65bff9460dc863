"""The built-in synthetic people as a COCO keypoints folder (17 joints), to run the COCO path
with no download.

Written once beside the MPII-format set of the same people (same images, linked): the 12 limb
joints are the bodies' own; the face points (nose, eyes, ears) are placed on the drawn head
(eyes where the public figures' eyes are painted, ears at the head's sides, the nose below the
eyes), labelled when the head is, so they are approximate: the synthetic heads have no ears.
The person box is the labelled joints' extent x1.1 (clipped to the image), its area the box's.
"""

import json
import os

import numpy as np

from tfpose_dp.data.cache_root import write_folder_once
from tfpose_dp.data.synthetic import CANVAS, ensure_synthetic_dataset
from tfpose_dp.skeleton import COCO17

SPLITS = {"train": "person_keypoints_train2017.json", "valid": "person_keypoints_val2017.json"}
LIMB_JOINTS = {  # COCO joint <- MPII joint
    "left_shoulder": 13,
    "right_shoulder": 12,
    "left_elbow": 14,
    "right_elbow": 11,
    "left_wrist": 15,
    "right_wrist": 10,
    "left_hip": 3,
    "right_hip": 2,
    "left_knee": 4,
    "right_knee": 1,
    "left_ankle": 5,
    "right_ankle": 0,
}


def coco_joints(mpii_joints, mpii_visible):
    """(16, 2) MPII joints (0-based) of a synthetic person -> (17, 2) COCO joints, (17,) v."""
    j, vis = np.asarray(mpii_joints, np.float64), np.asarray(mpii_visible)
    out, v = np.zeros((17, 2)), np.zeros(17, np.int64)
    for name, k in LIMB_JOINTS.items():
        out[COCO17.joint_names.index(name)], v[COCO17.joint_names.index(name)] = j[k], 2 * vis[k]
    centre, up = (j[8] + j[9]) / 2.0, j[9] - j[8]
    r = np.linalg.norm(up) / 2.0 + 1.0
    up = up / max(np.linalg.norm(up), 1e-6)
    side = j[13] - j[12]  # towards the person's left
    side = side / np.linalg.norm(side) if np.linalg.norm(side) > 1e-6 else np.array([-up[1], up[0]])
    eyes = centre - 0.1 * r * up
    face = {
        "nose": centre - 0.45 * r * up,
        "left_eye": eyes + 0.3 * r * side,
        "right_eye": eyes - 0.3 * r * side,
        "left_ear": centre + 0.8 * r * side,
        "right_ear": centre - 0.8 * r * side,
    }
    head = 2 if vis[8] > 0 and vis[9] > 0 else 0
    for name, point in face.items():
        out[COCO17.joint_names.index(name)], v[COCO17.joint_names.index(name)] = point, head
    inside = np.all((out >= 0) & (out <= CANVAS - 1), axis=1)
    v[~inside] = 0
    out[v == 0] = 0.0  # COCO writes unlabelled joints as 0, 0, 0
    return out, v


def _coco_file(mpii_annotations, first_id):
    images, annotations = [], []
    for n, ann in enumerate(mpii_annotations):
        image_id = first_id + n
        joints, v = coco_joints(np.asarray(ann["joints"]) - 1.0, ann["joints_vis"])
        seen = joints[v > 0] if v.any() else np.asarray(ann["joints"]) - 1.0
        lo, hi = seen.min(0), seen.max(0)
        pad = (hi - lo) * 0.05 + 2.0
        lo, hi = np.maximum(lo - pad, 0), np.minimum(hi + pad, CANVAS - 1)
        w, h = hi - lo
        images.append(
            {"id": image_id, "file_name": ann["image"], "width": CANVAS, "height": CANVAS}
        )
        annotations.append(
            {
                "id": image_id,
                "image_id": image_id,
                "category_id": 1,
                "iscrowd": 0,
                "num_keypoints": int((v > 0).sum()),
                "keypoints": [float(x) for row in np.column_stack([joints, v]) for x in row],
                "bbox": [float(lo[0]), float(lo[1]), float(w), float(h)],
                "area": float(w * h),
            }
        )
    category = {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(COCO17.joint_names),
        "skeleton": [[a + 1, b + 1] for a, b in COCO17.limbs],
    }
    return {"images": images, "annotations": annotations, "categories": [category]}


def ensure_synthetic_coco(num_train=4000, num_val=400, seed=0, root=None, domain="public"):
    """Writes the COCO-format copy of a synthetic set once (atomically); returns its folder:
    annotations/person_keypoints_{train,val}2017.json, images/ (a link to the set's images)."""
    source = ensure_synthetic_dataset(num_train, num_val, seed, root, domain)
    target = source + "-coco"
    if os.path.exists(os.path.join(target, "annotations", SPLITS["valid"])):
        return target

    def fill(tmp):
        os.makedirs(os.path.join(tmp, "annotations"))
        os.symlink(os.path.join(source, "images"), os.path.join(tmp, "images"))
        first_id = 1
        for split, name in SPLITS.items():
            with open(os.path.join(source, "annotations", f"{split}.json")) as f:
                mpii = json.load(f)
            with open(os.path.join(tmp, "annotations", name), "w") as f:
                json.dump(_coco_file(mpii, first_id), f)
            first_id += len(mpii)

    return write_folder_once(target, fill, ".synthetic_coco_tmp_")
