"""MPII person annotations in the HRNet/mmpose JSON format, validated and as arrays.

Each record: `image` (file name), `center` [x, y], `scale` (person height / 200),
`joints` 16 x [x, y] and `joints_vis` 16 x {0, 1}, MATLAB 1-based pixel coordinates;
optionally `head_box` [x1, y1, x2, y2] (1-based), needed for PCKh.
"""

import dataclasses
import json
import os

import numpy as np

from tfpose_dp.data.image_check import undecodable_images
from tfpose_dp.data.label_ranges import describe_range, out_of_range
from tfpose_dp.skeleton import NUM_JOINTS, as_skeleton

DATA_FORMATS = ("mpii", "coco")
SPLIT_FILES = {
    "train": ("train.json", "mpii_train.json"),
    "valid": ("valid.json", "mpii_val.json", "val.json"),
}


class AnnotationError(ValueError):
    """The annotation data cannot be used; the message names the file and record."""


@dataclasses.dataclass
class PoseRecords:
    """One split as arrays (0-based pixel coordinates)."""

    image_paths: np.ndarray  # (N,) str, absolute
    centers: np.ndarray  # (N, 2) float32, MPII centre (before the +15*scale shift)
    scales: np.ndarray  # (N,) float32, person height / 200
    joints: np.ndarray  # (N, 16, 2) float32
    visible: np.ndarray  # (N, 16) float32
    head_sizes: np.ndarray  # (N,) float32, 0.6 * head-box diagonal (0 where unknown)
    ids: list  # (image, centre x, centre y): the person's identity, for disjointness checks
    # Where the images are when they are not files: a random-access sequence of encoded images
    # (a TFDS data source) and each record's position in it.
    image_source: object = None
    source_index: np.ndarray = None
    # Counts of records skipped at load and up to 3 undecodable image names: computed from
    # the data without DP, so never logged here; training writes it under MODEL_DIR/private/.
    load_report: dict = None
    # (N, 4) x, y, w, h person boxes (COCO keypoints files): the crop is the box x1.25 about
    # its centre, as predict crops a person; None: MPII's centre/scale square.
    boxes: np.ndarray = None
    areas: np.ndarray = None  # (N,) COCO object areas, the scale of OKS; None for MPII
    # Per record, the annotation's other scalar fields (a string or integer: e.g. patient_id,
    # video_id), which a run may name as its unit of privacy; None: none kept.
    attributes: list = None

    def __len__(self):
        return len(self.image_paths)

    def image_names(self):
        """(N,) the image each person is in: the unit a public/private split must respect."""
        return np.array([i[0] for i in self.ids])

    def concat(self, other):
        """This split followed by `other`'s records (both read from image files)."""
        if self.image_source is not None or other.image_source is not None:
            raise AnnotationError("records read from a TFDS build cannot be joined with others")
        if (self.boxes is None) != (other.boxes is None) or self.joints.shape[1:] != (
            other.joints.shape[1:]
        ):
            raise AnnotationError(
                "records of different formats or joint counts (MPII and COCO) cannot be joined"
            )
        return PoseRecords(
            *(
                np.concatenate([a, b])
                for a, b in (
                    (self.image_paths, other.image_paths),
                    (self.centers, other.centers),
                    (self.scales, other.scales),
                    (self.joints, other.joints),
                    (self.visible, other.visible),
                    (self.head_sizes, other.head_sizes),
                )
            ),
            self.ids + other.ids,
            boxes=None if self.boxes is None else np.concatenate([self.boxes, other.boxes]),
            areas=None if self.areas is None else np.concatenate([self.areas, other.areas]),
            attributes=self.record_attributes() + other.record_attributes(),
        )

    def record_attributes(self):
        """Each record's scalar fields (empty dicts when none were kept)."""
        return list(self.attributes) if self.attributes is not None else [{} for _ in self.ids]

    def subset(self, indices):
        indices = np.asarray(indices, np.int64)
        return PoseRecords(
            self.image_paths[indices],
            self.centers[indices],
            self.scales[indices],
            self.joints[indices],
            self.visible[indices],
            self.head_sizes[indices],
            [self.ids[i] for i in indices],
            self.image_source,
            None if self.source_index is None else self.source_index[indices],
            boxes=None if self.boxes is None else self.boxes[indices],
            areas=None if self.areas is None else self.areas[indices],
            attributes=None if self.attributes is None else [self.attributes[i] for i in indices],
        )


def find_annotation_file(data_dir, split):
    """Path of the split's JSON under `data_dir` or `data_dir/annotations`."""
    for folder in (os.path.join(data_dir, "annotations"), data_dir):
        for name in SPLIT_FILES[split]:
            path = os.path.join(folder, name)
            if os.path.exists(path):
                return path
    raise AnnotationError(
        f"no {split} annotations in --data_dir={data_dir}: expected one of "
        f"{', '.join(SPLIT_FILES[split])} in {data_dir}/annotations/ or {data_dir}/ "
        "(the HRNet/mmpose MPII JSON; tools/convert_mpii_mat.py makes it from the official .mat)"
    )


def find_image_dir(data_dir):
    images = os.path.join(data_dir, "images")
    return images if os.path.isdir(images) else data_dir


def read_json(json_path):
    """An annotation file's JSON; an unreadable file is an AnnotationError naming it."""
    try:
        with open(json_path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise AnnotationError(f"cannot read annotations {json_path}: {e}") from e


def load_records(json_path, image_dir, check_files=True):
    """Reads and validates an annotation file (see `records_from_list`)."""
    return records_from_list(read_json(json_path), json_path, image_dir, check_files)


def records_from_list(raw, json_path, image_dir, check_files=True):
    """Validates a list of person records from `json_path` (named in messages).

    A record with the wrong joint count or malformed fields is an error naming the
    file and record; a record whose image is missing or does not decode, or with no
    visible joint, is skipped and counted in the records' `load_report` (not logged: the log
    may be shared, and the counts and names come from the data).
    """
    if not isinstance(raw, list):
        raise AnnotationError(f"{json_path}: expected a JSON list of person records")
    keep, attributes, missing, no_joints = [], [], 0, 0
    for i, rec in enumerate(raw):
        try:
            joints = np.asarray(rec["joints"], np.float32)
            vis = np.asarray(rec.get("joints_vis", np.ones(len(joints))), np.float32)
            center = np.asarray(rec["center"], np.float32)
            scale = float(rec["scale"])
            image = str(rec["image"])
        except (KeyError, TypeError, ValueError) as e:
            raise AnnotationError(f"{json_path} record {i}: malformed ({e!r})") from e
        if joints.shape != (NUM_JOINTS, 2) or vis.shape != (NUM_JOINTS,):
            raise AnnotationError(
                f"{json_path} record {i} ({image}): expected {NUM_JOINTS} joints as [x, y] and "
                f"{NUM_JOINTS} joints_vis, got joints {joints.shape} and joints_vis {vis.shape}"
            )
        if center.shape != (2,) or not scale > 0:
            raise AnnotationError(f"{json_path} record {i} ({image}): bad center/scale")
        if not all(np.all(np.isfinite(a)) for a in (joints, vis, center, [scale])):
            # A NaN label would make a private loss NaN: refused here, before training, so
            # nothing the run does later can depend on it.
            raise AnnotationError(
                f"{json_path} record {i} ({image}): non-finite joints, joints_vis, center or "
                "scale (NaN or inf): fix or remove the record (unlabelled joints are "
                "joints_vis 0 with finite coordinates, e.g. [-1, -1])"
            )
        path = os.path.join(image_dir, image)
        if check_files and not os.path.exists(path):
            missing += 1
            continue
        if not np.any(vis > 0):
            no_joints += 1
            continue
        attributes.append(scalar_fields(rec, exclude=("image",)))
        head = rec.get("head_box")
        head_size = 0.0
        if head is not None:
            x1, y1, x2, y2 = [float(v) for v in head]
            head_size = 0.6 * float(np.hypot(x2 - x1, y2 - y1))
        keep.append(
            (
                path,
                center - 1.0,
                scale,
                joints - 1.0,
                (vis > 0).astype(np.float32),
                head_size,
                (image, int(round(center[0])), int(round(center[1]))),
            )
        )
    return records_from_rows(
        keep,
        json_path,
        check_files,
        {"skipped_missing_image": missing, "skipped_no_visible_joint": no_joints},
        attributes=attributes,
    )


def scalar_fields(entry, exclude=()):
    """The string and integer fields of an annotation entry (candidates for a privacy unit)."""
    return {
        k: v
        for k, v in entry.items()
        if k not in exclude and isinstance(v, (str, int)) and not isinstance(v, bool)
    }


def records_from_rows(
    rows, json_path, check_files, skipped, boxes=None, areas=None, attributes=None
):
    """PoseRecords from rows (path, centre, scale, joints, visible, head size, id), 0-based;
    rows whose image does not decode are dropped and counted with the `skipped` counts in the
    private load report. `boxes`, `areas`, `attributes` (scalar fields): per row, or None."""
    if not rows:
        raise AnnotationError(f"{json_path}: no usable records ({skipped})")
    cols = list(zip(*rows))
    records = PoseRecords(
        np.array(cols[0]),
        np.stack(cols[1]).astype(np.float32),
        np.array(cols[2], np.float32),
        np.stack(cols[3]).astype(np.float32),
        np.stack(cols[4]).astype(np.float32),
        np.array(cols[5], np.float32),
        list(cols[6]),
        boxes=None if boxes is None else np.asarray(boxes, np.float32),
        areas=None if areas is None else np.asarray(areas, np.float32),
        attributes=attributes,
    )
    _refuse_out_of_range(records, json_path)  # before the decode pass: a label costs no I/O
    keep = np.ones(len(rows), bool)
    bad_images = []
    if check_files:
        bad = undecodable_images(list(records.image_paths))
        bad_images = sorted(os.path.basename(p) for p in bad)
        keep = np.array([p not in bad for p in records.image_paths], bool)
    report = {
        "file": str(json_path),
        "kept": int(keep.sum()),
        **skipped,
        "skipped_undecodable_image": int((~keep).sum()),
        "undecodable_examples": bad_images[:3],
    }
    if not keep.any():
        raise AnnotationError(f"{json_path}: no usable records ({report})")
    if not keep.all():
        records = records.subset(np.flatnonzero(keep))
    records.load_report = report
    return records


def _refuse_out_of_range(records, json_path):
    problem = out_of_range(records)
    if problem is not None:
        i, what = problem
        image, cx, cy = records.ids[i]
        raise AnnotationError(
            f"{json_path}: the person in {image} centred near ({cx}, {cy}) has a label out of "
            f"range: {what}. Each record needs {describe_range()}: fix or remove the record "
            "(refused at load, so that no record can fail only when a step samples it)"
        )


def load_any_file(json_path, image_dir, keypoints="mpii16"):
    """Records of an annotation file in either format, told apart by its content: a JSON list
    is MPII's HRNet/mmpose format, an object with images and annotations is COCO keypoints."""
    raw = read_json(json_path)
    if isinstance(raw, dict) and "annotations" in raw:
        from tfpose_dp.data.coco_keypoints import coco_records

        return coco_records(raw, json_path, image_dir, keypoints)
    if not isinstance(raw, list):
        raise AnnotationError(
            f"{json_path}: neither MPII's format (a JSON list of person records) nor COCO "
            "keypoints (an object with images, annotations and categories)"
        )
    _require_mpii16(keypoints, json_path)
    return records_from_list(raw, json_path, image_dir)


def _require_mpii16(keypoints, where):
    """MPII-format records can only train a model of MPII's 16 joints."""
    name = as_skeleton(keypoints).name
    if name != "mpii16":
        raise AnnotationError(
            f"{where}: MPII annotations hold MPII's 16 joints, not --keypoints={name}: use "
            "--keypoints=mpii16, or COCO keypoints files with --data_format=coco"
        )


def default_image_dir(annotation_file):
    """The image folder of an annotation file given alone: COCO's ../<name> for
    person_keypoints_<name>.json in an annotations/ folder (or ../images, ../val2017,
    ../train2017), else the file's own folder."""
    here = os.path.dirname(os.path.abspath(annotation_file))
    if os.path.basename(here) == "annotations":
        stem = os.path.splitext(os.path.basename(annotation_file))[0]
        own = stem.split("person_keypoints_")[-1]
        for name in (own, "images", "val2017", "train2017"):
            if os.path.isdir(os.path.join(here, "..", name)):
                return os.path.normpath(os.path.join(here, "..", name))
    return here


def load_annotation_file(json_path, image_dir=None, keypoints="mpii16"):
    """Records of one annotation file of either format (`load_any_file`), its images in
    `image_dir` (default: `default_image_dir`)."""
    if not os.path.isfile(json_path):
        raise AnnotationError(f"annotation file {json_path} does not exist")
    return load_any_file(json_path, image_dir or default_image_dir(json_path), keypoints)


TFDS_PREFIX = "tfds:"


def load_split(data_dir, split, data_format="mpii", keypoints="mpii16"):
    """A split of an MPII folder (or of the TFDS build with --data_dir=tfds:<TFDS data dir>),
    or of a COCO keypoints folder with `data_format="coco"`; `keypoints`: the model's joints."""
    if data_format == "coco":
        from tfpose_dp.data.coco_keypoints import find_coco_split, load_coco_records

        if not os.path.isdir(data_dir):
            raise AnnotationError(f"--data_dir={data_dir} does not exist")
        return load_coco_records(*find_coco_split(data_dir, split), keypoints)
    _require_mpii16(keypoints, f"--data_dir={data_dir}")
    if data_dir.startswith(TFDS_PREFIX):
        from tfpose_dp.data.tfds_source import load_tfds_split

        return load_tfds_split(data_dir[len(TFDS_PREFIX) :] or None, split)
    if not os.path.isdir(data_dir):
        raise AnnotationError(f"--data_dir={data_dir} does not exist")
    return load_records(find_annotation_file(data_dir, split), find_image_dir(data_dir))
