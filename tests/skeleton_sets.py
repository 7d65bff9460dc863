"""COCO-format sets of the built-in people in other skeletons (CrowdPose's 14, a clinic's 13)."""

import json
import os

import numpy as np

from tfpose_dp.data.synthetic_coco import LIMB_JOINTS

# Other skeletons, drawn from the built-in people's MPII joints (their index in MPII16).
# CrowdPose's 14 in its own order: COCO's 12 limb joints (in CrowdPose's order already), head, neck
CROWDPOSE14 = {**LIMB_JOINTS, "head": 9, "neck": 8}
CLINIC13 = {  # a made-up clinic's: a head point and 12 limb joints, L/R prefixes
    "Head": 9,
    "R_Shoulder": 12,
    "L_Shoulder": 13,
    "R_Elbow": 11,
    "L_Elbow": 14,
    "R_Wrist": 10,
    "L_Wrist": 15,
    "R_Hip": 2,
    "L_Hip": 3,
    "R_Knee": 1,
    "L_Knee": 4,
    "R_Ankle": 0,
    "L_Ankle": 5,
}


def write_skeleton_set(target, source_dir, joints, limbs=()):
    """A COCO keypoints folder at `target` of the synthetic people in `source_dir` (an MPII
    format set), labelled with `joints` ({name: MPII joint}); `limbs`: 1-based pairs."""
    names, columns = list(joints), list(joints.values())
    os.makedirs(os.path.join(target, "annotations"), exist_ok=True)
    if not os.path.exists(os.path.join(target, "images")):
        os.symlink(os.path.join(source_dir, "images"), os.path.join(target, "images"))
    first_id = 1
    for split, name in (("train", "train2017"), ("valid", "val2017")):
        with open(os.path.join(source_dir, "annotations", f"{split}.json")) as f:
            people = json.load(f)
        images, annotations = [], []
        for n, person in enumerate(people):
            xy = (np.asarray(person["joints"], np.float64) - 1.0)[columns]
            v = 2 * np.asarray(person["joints_vis"])[columns]
            xy[v == 0] = 0.0
            seen = xy[v > 0]
            lo, hi = seen.min(0) - 4, seen.max(0) + 4
            image_id = first_id + n
            images.append({"id": image_id, "file_name": person["image"]})
            annotations.append(
                {
                    "id": image_id,
                    "image_id": image_id,
                    "category_id": 1,
                    "keypoints": np.column_stack([xy, v]).ravel().tolist(),
                    "num_keypoints": int((v > 0).sum()),
                    "bbox": [*lo.tolist(), *(hi - lo).tolist()],
                    "area": float(np.prod(hi - lo)),
                    "iscrowd": 0,
                }
            )
        first_id += len(people)
        category = {"id": 1, "name": "person", "keypoints": names, "skeleton": list(limbs)}
        raw = {"images": images, "annotations": annotations, "categories": [category]}
        with open(os.path.join(target, "annotations", f"person_keypoints_{name}.json"), "w") as f:
            json.dump(raw, f)
    return target
