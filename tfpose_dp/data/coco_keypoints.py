"""COCO keypoints JSON (COCO, CrowdPose, CVAT / Label Studio exports) as person records.

One record per person annotation: `keypoints` K x [x, y, v] (v = 0 unlabelled: weight 0;
v = 1 occluded and v = 2 visible both train), `bbox` x, y, w, h (the crop is the box x1.25 at
the input's aspect, as predict crops a person), `area` (the scale of OKS). Skipped and counted
(in the private load report, never the log): crowd regions (`iscrowd` 1), persons with no
labelled joint (`num_keypoints` 0), degenerate boxes (w or h < 1 px) and missing or
undecodable images. Malformed files are errors that name the file and annotation.
Layout under --data_dir: annotations/person_keypoints_{train,val}2017.json, images in
{train,val}2017/ (or images/, or --data_dir itself).
"""

import os

import numpy as np

from tfpose_dp.data.annotations import (
    AnnotationError,
    read_json,
    records_from_rows,
    scalar_fields,
)
from tfpose_dp.data.coco_to_mpii import coco_to_mpii
from tfpose_dp.skeleton import COCO17, MPII16, as_skeleton

SPLIT_FILES = {
    "train": ("person_keypoints_train2017.json", "train.json"),
    "valid": ("person_keypoints_val2017.json", "val.json", "valid.json"),
}
IMAGE_DIRS = {"train": "train2017", "valid": "val2017"}


# COCO's own fields, which are not candidates for a privacy unit.
IMAGE_KEYS = ("id", "file_name", "width", "height", "license", "coco_url", "flickr_url")
ANNOTATION_KEYS = ("id", "image_id", "category_id", "iscrowd", "num_keypoints")


def find_coco_split(data_dir, split):
    """(annotation file, image folder) of a split under `data_dir` (COCO's layout)."""
    for folder in (os.path.join(data_dir, "annotations"), data_dir):
        for name in SPLIT_FILES[split]:
            path = os.path.join(folder, name)
            if os.path.exists(path):
                for images in (IMAGE_DIRS[split], "images", ""):
                    image_dir = os.path.join(data_dir, images)
                    if os.path.isdir(image_dir):
                        return path, image_dir
    raise AnnotationError(
        f"no {split} COCO keypoints in --data_dir={data_dir}: expected "
        f"annotations/{SPLIT_FILES[split][0]} and images in {data_dir}/{IMAGE_DIRS[split]}/"
    )


def _joint_columns(raw, json_path, skeleton):
    """(number of joints in the file, its column of each joint the loader returns: the
    skeleton's joints, or COCO's 17 to map onto MPII's 16)."""
    if not isinstance(raw, dict) or not all(k in raw for k in ("images", "annotations")):
        raise AnnotationError(
            f"{json_path}: not a COCO keypoints file (expected a JSON object with images, "
            "annotations and categories; MPII's HRNet JSON is --data_format=mpii)"
        )
    wanted = COCO17 if skeleton.name == MPII16.name else skeleton
    categories = [c for c in raw.get("categories") or [] if c.get("keypoints")]
    names = [str(n) for n in categories[0]["keypoints"]] if categories else wanted.joint_names
    if set(names) != set(wanted.joint_names) or len(names) != len(wanted.joint_names):
        raise AnnotationError(
            f"{json_path}: the category's keypoints are {len(names)} joints "
            f"({', '.join(names[:4])}, ...), not the model's {wanted.num_joints} "
            f"({', '.join(wanted.joint_names[:4])}, ...): train a model of the data's own "
            "joints with --keypoints=from_data, or relabel the file"
        )
    return len(names), [names.index(n) for n in wanted.joint_names]


def load_coco_records(json_path, image_dir, keypoints="coco17", check_files=True):
    """Person records of a COCO keypoints file; `keypoints`: the model's skeleton (or its name),
    the file's joints in any order (mpii16: COCO's 17, mapped by `coco_to_mpii`)."""
    return coco_records(read_json(json_path), json_path, image_dir, keypoints, check_files)


def coco_records(raw, json_path, image_dir, keypoints="coco17", check_files=True):
    """Person records of a COCO keypoints file's JSON `raw` (read from `json_path`)."""
    skeleton = as_skeleton(keypoints)
    num_joints, columns = _joint_columns(raw, json_path, skeleton)
    try:
        images = {int(im["id"]): str(im["file_name"]) for im in raw["images"]}
        image_fields = {int(im["id"]): scalar_fields(im, IMAGE_KEYS) for im in raw["images"]}
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise AnnotationError(f"{json_path}: malformed images entry ({e!r})") from e
    rows, boxes, areas, attributes = [], [], [], []
    skipped = dict.fromkeys(
        ("skipped_crowd", "skipped_no_labelled_joint", "skipped_degenerate_box"), 0
    )
    skipped["skipped_missing_image"] = 0
    for ann in raw["annotations"]:
        where = f"{json_path} annotation id {ann.get('id')}" if isinstance(ann, dict) else json_path
        try:
            kp = np.asarray(ann["keypoints"], np.float64)
            box = np.asarray(ann["bbox"], np.float64)
            image = images[int(ann["image_id"])]
            crowd = bool(ann.get("iscrowd", 0))
        except KeyError as e:
            raise AnnotationError(f"{where}: missing {e} (or an image_id not in images)") from e
        except (TypeError, ValueError) as e:
            raise AnnotationError(f"{where}: malformed ({e!r})") from e
        if kp.shape != (3 * num_joints,) or box.shape != (4,):
            raise AnnotationError(
                f"{where} ({image}): expected keypoints of {num_joints} x [x, y, v] and a bbox "
                f"[x, y, w, h], got {kp.size} keypoint values and a bbox of {box.size}"
            )
        if not (np.all(np.isfinite(kp)) and np.all(np.isfinite(box))):
            raise AnnotationError(f"{where} ({image}): non-finite keypoints or bbox")
        kp = kp.reshape(-1, 3)[columns]
        labelled = (kp[:, 2] > 0).astype(np.float32)
        if crowd:
            skipped["skipped_crowd"] += 1
            continue
        if int(ann.get("num_keypoints", labelled.sum())) == 0 or not labelled.any():
            skipped["skipped_no_labelled_joint"] += 1
            continue
        if box[2] < 1 or box[3] < 1:
            skipped["skipped_degenerate_box"] += 1
            continue
        path = os.path.join(image_dir, image)
        if check_files and not os.path.exists(path):
            skipped["skipped_missing_image"] += 1
            continue
        joints, vis = kp[:, :2].astype(np.float32), labelled
        if skeleton.name == MPII16.name:
            joints, vis = coco_to_mpii(joints, vis)
            if not vis.any():
                skipped["skipped_no_labelled_joint"] += 1
                continue
        centre = box[:2] + box[2:] / 2.0
        rows.append(
            (
                path,
                centre,
                max(box[2], box[3]) / 200.0,
                joints,
                vis,
                0.0,
                (image, int(round(centre[0])), int(round(centre[1]))),
            )
        )
        boxes.append(box)
        areas.append(float(ann.get("area", box[2] * box[3])))
        # the annotation's own fields first, then its image's (e.g. a per-image video_id)
        attributes.append(
            {**image_fields[int(ann["image_id"])], **scalar_fields(ann, ANNOTATION_KEYS)}
        )
    return records_from_rows(rows, json_path, check_files, skipped, boxes, areas, attributes)
