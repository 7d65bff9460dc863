"""COCO keypoints files: loading, skipping, crops, flip pairs, the COCO -> MPII mapping and the
built-in people in COCO format."""

import copy
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.data import transforms
from tfpose_dp.data.annotations import AnnotationError, load_any_file, load_split
from tfpose_dp.data.augmentation import AugmentConfig
from tfpose_dp.data.coco_keypoints import load_coco_records
from tfpose_dp.data.coco_to_mpii import coco_to_mpii
from tfpose_dp.data.pipeline import make_example_fn
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.skeleton import COCO17, MPII16

SIZE = (64, 48)


def _sample(coco_sample):
    with open(os.path.join(coco_sample, "test_coco.json")) as f:
        return json.load(f)


def _write(tmp_path, raw, name="ann.json"):
    path = tmp_path / name
    path.write_text(json.dumps(raw))
    return str(path)


def test_real_sample_loads_every_labelled_person_and_counts_the_rest(coco_sample):
    raw = _sample(coco_sample)
    records = load_coco_records(os.path.join(coco_sample, "test_coco.json"), coco_sample)
    labelled = [a for a in raw["annotations"] if a["num_keypoints"] > 0]
    assert len(raw["annotations"]) == 14 and len(records) == len(labelled) == 12
    report = records.load_report
    assert report["kept"] == 12 and report["skipped_no_labelled_joint"] == 2
    assert records.joints.shape == (12, 17, 2) and records.boxes.shape == (12, 4)
    names = {im["id"]: im["file_name"] for im in raw["images"]}
    for k, ann in enumerate(labelled):
        kp = np.array(ann["keypoints"], np.float32).reshape(17, 3)
        np.testing.assert_allclose(records.joints[k], kp[:, :2])
        np.testing.assert_array_equal(records.visible[k], (kp[:, 2] > 0).astype(np.float32))
        np.testing.assert_allclose(records.boxes[k], ann["bbox"], rtol=1e-6)
        assert records.areas[k] == pytest.approx(ann["area"])
        assert records.image_names()[k] == names[ann["image_id"]]
    # v=1 (labelled, occluded) trains like v=2; v=0 gets weight 0.
    assert {1, 2} <= {int(v) for a in labelled for v in a["keypoints"][2::3]}


def test_crops_hold_the_box_and_labelled_joints_stay_in_the_crop(coco_sample):
    records = load_coco_records(os.path.join(coco_sample, "test_coco.json"), coco_sample)
    fn = make_example_fn(records, SIZE, SimCCCodec(SIZE, skeleton=COCO17))
    for i in range(len(records)):
        ex = fn(tf.constant(i, tf.int64), tf.constant(0, tf.int64))
        m = ex["crop_to_image"].numpy()
        x, y, w, h = records.boxes[i]
        corners = np.array([[x, y], [x + w, y + h]], np.float32)
        in_crop = transforms.transform_points(corners, tf.linalg.inv(m)).numpy()
        # The box x1.25 fills the crop along its limiting axis, centred.
        assert np.all(in_crop >= -0.5) and np.all(in_crop <= [SIZE[1], SIZE[0]])
        assert np.max(in_crop[1] - in_crop[0] - np.array([SIZE[1], SIZE[0]]) * 0.8) > -0.5
        weight = ex["target_weight"].numpy()
        inside = np.all((records.joints[i] >= [x, y]) & (records.joints[i] <= [x + w, y + h]), 1)
        assert np.all(weight[(records.visible[i] > 0) & inside] == 1)
        assert np.all(weight[records.visible[i] == 0] == 0)


def test_flip_swaps_coco_left_and_right(coco_sample):
    records = load_coco_records(os.path.join(coco_sample, "test_coco.json"), coco_sample)
    codec = SimCCCodec(SIZE, skeleton=COCO17)
    still = AugmentConfig(scale_factor=0.0, rotation_prob=0.0, flip_prob=0.0, photometric=False)
    flipped = AugmentConfig(scale_factor=0.0, rotation_prob=0.0, flip_prob=1.0, photometric=False)
    i, step = tf.constant(0, tf.int64), tf.constant(0, tf.int64)
    a = make_example_fn(records, SIZE, codec, still)(i, step)
    b = make_example_fn(records, SIZE, codec, flipped)(i, step)
    ka, _ = codec.decode(tf.math.log(a["target_x"] + 1e-9), tf.math.log(a["target_y"] + 1e-9))
    kb, _ = codec.decode(tf.math.log(b["target_x"] + 1e-9), tf.math.log(b["target_y"] + 1e-9))
    perm = COCO17.flip_permutation()
    assert perm[COCO17.joint_names.index("left_wrist")] == COCO17.joint_names.index("right_wrist")
    both = (a["target_weight"].numpy() > 0) & (b["target_weight"].numpy()[perm] > 0)
    mirrored = SIZE[1] - 1 - ka.numpy()[:, 0]
    np.testing.assert_allclose(kb.numpy()[perm, 0][both], mirrored[both], atol=1.0)


def test_crowd_degenerate_and_missing_are_skipped_and_counted(coco_sample, tmp_path):
    raw = _sample(coco_sample)
    anns = raw["annotations"]
    anns[0]["iscrowd"] = 1
    anns[1]["bbox"][2] = 0.5
    raw["images"].append({"id": 999, "file_name": "absent.jpg"})
    anns.append({**copy.deepcopy(anns[2]), "id": 1, "image_id": 999})
    records = load_coco_records(_write(tmp_path, raw), coco_sample)
    r = records.load_report
    skipped = ("skipped_crowd", "skipped_degenerate_box", "skipped_missing_image")
    assert [r[k] for k in skipped] == [1, 1, 1]
    assert r["kept"] == len(records) == 10


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda raw: raw["annotations"][0].update(keypoints=[1.0] * 48), "17 x"),
        (lambda raw: raw["annotations"][0]["keypoints"].__setitem__(0, float("nan")), "finite"),
        (lambda raw: raw["annotations"][0].update(image_id=12345), "image_id"),
        (lambda raw: raw["categories"][0].update(keypoints=["a", "b"]), "17"),
        (lambda raw: raw.pop("annotations"), "not a COCO keypoints file"),
    ],
)
def test_malformed_files_are_errors_naming_the_problem(coco_sample, tmp_path, edit, message):
    raw = _sample(coco_sample)
    edit(raw)
    with pytest.raises(AnnotationError, match=message):
        load_coco_records(_write(tmp_path, raw), coco_sample)


def test_either_format_is_detected_from_the_file(coco_sample, mpii_sample, tmp_path):
    coco = load_any_file(os.path.join(coco_sample, "test_coco.json"), coco_sample, "coco17")
    mpii = load_any_file(os.path.join(mpii_sample, "test_mpii.json"), mpii_sample)
    assert coco.joints.shape[1] == 17 and mpii.joints.shape[1] == 16 and mpii.boxes is None
    with pytest.raises(AnnotationError, match="neither"):
        load_any_file(_write(tmp_path, {"x": 1}), str(tmp_path))


def test_coco_to_mpii_maps_limbs_and_midpoints_and_leaves_the_head_unlabelled():
    joints = np.arange(34, dtype=np.float32).reshape(17, 2)
    visible = np.ones(17, np.float32)
    visible[COCO17.joint_names.index("left_hip")] = 0
    out, vis = coco_to_mpii(joints, visible)
    c, m = COCO17.joint_names.index, MPII16.joint_names.index
    np.testing.assert_array_equal(out[m("r_wrist")], joints[c("right_wrist")])
    np.testing.assert_array_equal(out[m("l_ankle")], joints[c("left_ankle")])
    mid = (joints[c("left_shoulder")] + joints[c("right_shoulder")]) / 2
    np.testing.assert_array_equal(out[m("thorax")], mid)
    assert vis[m("thorax")] == 1 and vis[m("pelvis")] == 0  # one hip unlabelled
    assert vis[m("l_hip")] == 0 and vis[m("r_hip")] == 1
    assert vis[m("upper_neck")] == 0 and vis[m("head_top")] == 0
    assert vis.sum() == 12


def test_real_coco_sample_pretrains_a_16_joint_model(coco_sample):
    records = load_coco_records(
        os.path.join(coco_sample, "test_coco.json"), coco_sample, keypoints="mpii16"
    )
    assert records.joints.shape == (12, 16, 2)
    assert np.all(records.visible[:, [8, 9]] == 0)
    fn = make_example_fn(records, SIZE, SimCCCodec(SIZE))
    assert fn(tf.constant(0, tf.int64), tf.constant(0, tf.int64))["target_x"].shape[0] == 16


def test_a_model_of_other_joints_is_refused_with_advice(coco_sample):
    records = load_coco_records(os.path.join(coco_sample, "test_coco.json"), coco_sample)
    with pytest.raises(ValueError, match="--keypoints"):
        make_example_fn(records, SIZE, SimCCCodec(SIZE))


def test_builtin_people_in_coco_format_are_the_same_bodies(synthetic_dir, tmp_path):
    from tfpose_dp.data.synthetic_coco import ensure_synthetic_coco

    root = os.path.dirname(synthetic_dir)
    coco_dir = ensure_synthetic_coco(120, 24, 0, root)
    mpii = load_split(synthetic_dir, "valid")
    coco = load_split(coco_dir, "valid", "coco", "coco17")
    mapped = load_split(coco_dir, "valid", "coco", "mpii16")
    assert coco.joints.shape[1:] == (17, 2) and len(coco) == len(mpii)
    both = (mapped.visible > 0) & (mpii.visible > 0)
    np.testing.assert_allclose(mapped.joints[both], mpii.joints[both], atol=1e-3)
    assert np.array_equal(coco.image_names(), mpii.image_names())
    assert ensure_synthetic_coco(120, 24, 0, root) == coco_dir  # written once


def _split_by_image(tmp_path, raw):
    """The sample as two files by image (train: the first two images), in annotations/."""
    folder = tmp_path / "annotations"
    folder.mkdir()
    paths = []
    for name, ids in (("train", raw["images"][:2]), ("val", raw["images"][2:])):
        keep = {im["id"] for im in ids}
        part = dict(
            raw, images=ids, annotations=[a for a in raw["annotations"] if a["image_id"] in keep]
        )
        paths.append(_write(folder, part, f"person_keypoints_{name}.json"))
    return paths


def test_explicit_annotation_files_train_and_validate(coco_sample, tmp_path):
    from tfpose_dp.run_config import RunConfig
    from tfpose_dp.runs.restore import data_identity, run_split
    from tfpose_dp.training.datasets import SplitOverlapError, load_train_val

    raw = _sample(coco_sample)
    train_file, val_file = _split_by_image(tmp_path, raw)
    train, val, description = load_train_val(
        None, 0, 0, 0, keypoints="coco17", files=(train_file, val_file, coco_sample)
    )
    assert train_file in description and val_file in description
    assert set(train.image_names()).isdisjoint(val.image_names())
    assert len(train) + len(val) == 12  # every labelled person, in one split or the other
    # the same file as both splits shares every image: refused
    with pytest.raises(SplitOverlapError, match="validation split shares"):
        load_train_val(
            None, 0, 0, 0, keypoints="coco17", files=(train_file, train_file, coco_sample)
        )

    config = RunConfig().replace(
        train_annotations=train_file,
        val_annotations=val_file,
        image_dir=coco_sample,
        keypoints="coco17",
    )
    records, where = run_split(config, "valid")  # what evaluate and export read
    assert where == val_file and len(records) == len(val)
    assert data_identity(config) == ("annotations", os.path.realpath(train_file))
    assert config.data.own_data() and config.data.annotation_files()[2] == coco_sample


def test_an_annotation_file_finds_the_image_folder_of_its_own_split(tmp_path):
    from tfpose_dp.data.annotations import default_image_dir

    (tmp_path / "annotations").mkdir()
    for name in ("train2017", "val2017"):
        (tmp_path / name).mkdir()
    train = str(tmp_path / "annotations" / "person_keypoints_train2017.json")
    val = str(tmp_path / "annotations" / "person_keypoints_val2017.json")
    assert default_image_dir(train) == str(tmp_path / "train2017")
    assert default_image_dir(val) == str(tmp_path / "val2017")
    assert default_image_dir(str(tmp_path / "train2017" / "x.json")) == str(tmp_path / "train2017")
    with pytest.raises(AnnotationError, match="does not exist"):
        from tfpose_dp.data.annotations import load_annotation_file

        load_annotation_file(str(tmp_path / "missing.json"))
