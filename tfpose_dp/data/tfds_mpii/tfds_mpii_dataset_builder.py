"""MPII Human Pose as a TensorFlow Datasets dataset (`tfds_mpii`), built from a user's copy.

One example per annotated person (top-down training indexes persons), in the order the images
come (archive order for the tarball, so not gt_valid.mat's order: score a predictions file
against the converted JSON), with the person records also kept in the dataset's metadata so
training can read them without touching the images. Build it in the random-access format the
Poisson sampler needs:

  python -m tfpose_dp.data.tfds_mpii --manual_dir=/data/mpii_download   # = tfds build, array_record
  python -m tfpose_dp.train --data_dir=tfds: ...          # or tfds:/path/to/tensorflow_datasets
"""

import json
import os

import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from tfpose_dp.data import mpii_mat
from tfpose_dp.data.annotations import AnnotationError, find_annotation_file, records_from_list
from tfpose_dp.data.image_check import bytes_decode
from tfpose_dp.skeleton import NUM_JOINTS

IMAGES_TARBALL = "mpii_human_pose_v1.tar.gz"
RELEASE_MAT = "mpii_human_pose_v1_u12_1.mat"
SPLITS = {"train": "train", "validation": "valid"}


class Builder(tfds.core.GeneratorBasedBuilder):
    """MPII Human Pose v1 persons with joints, centre/scale and head boxes."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": "Persons of the MPII training images; standard validation split via gt_valid.mat."
    }
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
    MPII Human Pose cannot be downloaded automatically (registration and terms of use at
    http://human-pose.mpi-inf.mpg.de). Put in `manual_dir`:
      * the images: `{IMAGES_TARBALL}` as downloaded, or its extracted `images/` folder;
      * the annotations, either `train.json` and `valid.json` in the HRNet/mmpose format (made by
        tools/convert_mpii_mat.py, with head boxes), directly or under `annotations/`, or the
        release's `{RELEASE_MAT}` (with `gt_valid.mat` for the standard validation split).
    """

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(encoding_format="jpeg"),
                    "image_name": tfds.features.Text(),
                    "center": tfds.features.Tensor(shape=(2,), dtype=np.float32),
                    "scale": np.float32,
                    "joints": tfds.features.Tensor(shape=(NUM_JOINTS, 2), dtype=np.float32),
                    "joints_vis": tfds.features.Tensor(shape=(NUM_JOINTS,), dtype=np.float32),
                    "head_box": tfds.features.Tensor(shape=(4,), dtype=np.float32),
                }
            ),
            homepage="http://human-pose.mpi-inf.mpg.de",
            metadata=tfds.core.MetadataDict(),
            # Generation order is kept so the records in the metadata line up with the examples.
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        manual = str(dl_manager.manual_dir)
        persons = _read_annotations(manual)
        folder, tarball = os.path.join(manual, "images"), os.path.join(manual, IMAGES_TARBALL)
        if os.path.isdir(folder):
            images = _images_in_folder(folder)
        elif os.path.exists(tarball):

            def images(_):  # every member of the tarball, in archive order
                return (
                    (os.path.basename(m), f.read()) for m, f in dl_manager.iter_archive(tarball)
                )
        else:
            raise AnnotationError(
                f"{manual}: no images/ folder and no {IMAGES_TARBALL}."
                + self.MANUAL_DOWNLOAD_INSTRUCTIONS
            )
        return {
            name: self._generate_examples(name, persons[key], images)
            for name, key in SPLITS.items()
        }

    def _generate_examples(self, split, records, images):
        """Persons in the order their images come (one pass, one image in memory at a time)."""
        by_image = {}
        for rec in records:
            by_image.setdefault(rec["image"], []).append(rec)
        kept, corrupt = [], 0
        for name, raw in images(sorted(by_image)):
            if name not in by_image:
                continue
            if not bytes_decode(raw):
                corrupt += len(by_image.pop(name))
                continue
            for rec in by_image.pop(name):
                head = rec.get("head_box", [-1.0] * 4)
                yield (
                    f"{len(kept):08d}",
                    {
                        "image": raw,
                        "image_name": name,
                        "center": np.asarray(rec["center"], np.float32),
                        "scale": np.float32(rec["scale"]),
                        "joints": np.asarray(rec["joints"], np.float32),
                        "joints_vis": np.asarray(rec["joints_vis"], np.float32),
                        "head_box": np.asarray(head, np.float32),
                    },
                )
                kept.append(rec)
        missing = sum(len(v) for v in by_image.values())
        logging.info(
            "tfds_mpii %s: %d persons; skipped %d with a missing and %d with a corrupt image",
            split,
            len(kept),
            missing,
            corrupt,
        )
        self.info.metadata[split] = json.dumps(kept)
        self.info.metadata[f"{split}_skipped"] = {
            "missing_image": missing,
            "corrupt_image": corrupt,
        }


def _read_annotations(manual):
    """{'train': [...], 'valid': [...]} from JSON files or the release .mat, validated."""
    mat = os.path.join(manual, RELEASE_MAT)
    try:
        persons = {key: _read_json(find_annotation_file(manual, key)) for key in SPLITS.values()}
    except AnnotationError:
        if not os.path.exists(mat):
            raise
        gt_valid = os.path.join(manual, "gt_valid.mat")
        release = mpii_mat.read_release(mat)
        if os.path.exists(gt_valid):
            from tfpose_dp.data.gt_valid import read_gt_valid

            train, valid = mpii_mat.split_by_gt_valid(release, *read_gt_valid(gt_valid))
        else:
            train, valid = mpii_mat.split_by_image(release, 0.1)
        persons = {"train": train, "valid": valid}
    for key, records in persons.items():  # same validation (joint counts, fields) as --data_dir
        records_from_list(records, f"{manual} ({key})", manual, check_files=False)
        # Persons without a visible joint teach nothing; every example kept is usable.
        persons[key] = [r for r in records if any(v > 0 for v in r["joints_vis"])]
    return persons


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _images_in_folder(folder):
    def read(wanted):
        for name in wanted:
            path = os.path.join(folder, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    yield name, f.read()

    return read
