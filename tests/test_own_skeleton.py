"""Skeletons from the data: a COCO-format file's own joints (any names, any order) define the
model's, with flip pairs from the names' sides, OKS sigmas, limbs, and a start model of another
skeleton passing on the joints both name."""

import json
import os

import numpy as np
import pytest
from skeleton_sets import CLINIC13, CROWDPOSE14

from tfpose_dp.category_skeleton import (
    SkeletonError,
    canonical_name,
    category_skeleton,
    head_rows,
)
from tfpose_dp.data.annotations import AnnotationError
from tfpose_dp.data.coco_keypoints import load_coco_records
from tfpose_dp.run_config import RunConfig
from tfpose_dp.runs.manifest import Manifest
from tfpose_dp.runs.run_skeleton import resolve_keypoints
from tfpose_dp.skeleton import COCO17, MPII16, skeleton_of


@pytest.mark.parametrize(
    "name, canonical",
    [
        ("left_knee", "left_knee"),
        ("l_knee", "left_knee"),
        ("L_Knee", "left_knee"),
        ("LKnee", "left_knee"),
        ("Right-Knee", "right_knee"),
        ("knee_r", "right_knee"),
        ("r ankle", "right_ankle"),
        ("Head", "head"),
        ("upper neck", "upper_neck"),
        ("Lateral malleolus", "lateral_malleolus"),
    ],
)
def test_joint_names_are_compared_by_side_and_body_part(name, canonical):
    assert canonical_name(name) == canonical


def test_crowdpose_category_gives_its_pairs_sigmas_limbs_and_upper_body():
    category = {"keypoints": list(CROWDPOSE14), "skeleton": [[13, 14], [1, 3]]}
    skeleton = category_skeleton(category)
    names = skeleton.joint_names
    pairs = {(names[a], names[b]) for a, b in skeleton.flip_pairs}
    assert pairs == {(f"left_{p}", f"right_{p}") for p in ("shoulder", "elbow", "wrist")} | {
        (f"left_{p}", f"right_{p}") for p in ("hip", "knee", "ankle")
    }
    assert skeleton.limbs == ((12, 13), (0, 2))  # 1-based in the file
    sigma = dict(zip(names, skeleton.oks_sigmas))
    assert sigma["left_knee"] == COCO17.oks_sigmas[COCO17.joint_names.index("left_knee")]
    assert sigma["head"] == sigma["neck"] == 0.079
    upper = {names[j] for j in skeleton.upper_body}
    assert "head" in upper and "left_wrist" in upper and "left_knee" not in upper
    # the flip of a flip is the identity, and a left joint goes to its right twin
    perm = skeleton.flip_permutation()
    assert [perm[p] for p in perm] == list(range(14))
    assert names[perm[names.index("left_ankle")]] == "right_ankle"


def test_flip_pairs_and_sigmas_can_be_given():
    category = {"keypoints": list(CLINIC13)}
    auto = category_skeleton(category)
    assert len(auto.flip_pairs) == 6  # L_/R_ prefixes
    given = category_skeleton(
        category, flip_pairs="L_Wrist:R_Wrist", oks_sigmas="Head=0.05,L_Knee=0.1"
    )
    assert given.flip_pairs == ((5, 6),) or given.flip_pairs == ((6, 5),)
    assert given.oks_sigmas[0] == 0.05 and given.oks_sigmas[10] == 0.1
    with pytest.raises(SkeletonError, match="two joint names"):
        category_skeleton(category, flip_pairs="L_Wrist:Tail")
    with pytest.raises(SkeletonError, match="joint_name=sigma"):
        category_skeleton(category, oks_sigmas="Tail=0.1")
    with pytest.raises(SkeletonError, match="1..13"):
        category_skeleton({**category, "skeleton": [[0, 1]]})
    with pytest.raises(SkeletonError, match="twice"):
        category_skeleton({"keypoints": ["a", "b", "a"]})


def test_a_file_loads_in_the_models_joint_order_and_other_joints_are_refused(clinic_dir):
    skeleton = category_skeleton({"keypoints": sorted(CLINIC13)})  # another order than the file
    path = os.path.join(clinic_dir, "annotations", "person_keypoints_val2017.json")
    records = load_coco_records(path, os.path.join(clinic_dir, "images"), skeleton)
    with open(path) as f:
        first = np.asarray(json.load(f)["annotations"][0]["keypoints"]).reshape(-1, 3)
    file_order = list(CLINIC13)
    for j, name in enumerate(skeleton.joint_names):
        np.testing.assert_allclose(records.joints[0, j], first[file_order.index(name), :2])
    with pytest.raises(AnnotationError, match="--keypoints=from_data"):
        load_coco_records(path, os.path.join(clinic_dir, "images"), "coco17")


def _config(tmp_path, **flags):
    return RunConfig.from_flat({"model_dir": str(tmp_path), **flags})


def test_keypoints_auto_takes_the_datas_own_joints_or_mpii16(tmp_path, crowdpose_dir):
    config, note = resolve_keypoints(_config(tmp_path, data_dir=crowdpose_dir, data_format="coco"))
    assert config.model.keypoints == "from_data" and "14 joints" in note
    assert skeleton_of(config.model).joint_names == tuple(CROWDPOSE14)
    builtin, _ = resolve_keypoints(_config(tmp_path))
    assert builtin.model.keypoints == "mpii16" and builtin.model.skeleton is None
    coco, _ = resolve_keypoints(_config(tmp_path, data_format="coco"))
    assert coco.model.keypoints == "mpii16"  # COCO's 17 map onto MPII's 16, as before
    named, _ = resolve_keypoints(_config(tmp_path, data_format="coco", keypoints="from_data"))
    assert named.model.keypoints == "coco17"
    with pytest.raises(SkeletonError, match="--keypoints=from_data"):
        resolve_keypoints(
            _config(tmp_path, data_dir=crowdpose_dir, data_format="coco", keypoints="coco17")
        )
    with pytest.raises(SkeletonError, match="--keypoints=from_data"):
        resolve_keypoints(_config(tmp_path, keypoints="coco17"))
    with pytest.raises(SkeletonError, match="leave it out"):
        resolve_keypoints(_config(tmp_path, oks_sigmas="nose=0.1"))


def test_auto_adopts_a_start_that_reads_the_data(tmp_path, clinic_dir):
    clinic = _config(tmp_path, data_dir=clinic_dir, data_format="coco")
    mine, _ = resolve_keypoints(clinic)
    start = mine.replace(skeleton=dict(mine.model.skeleton, flip_pairs=[]))
    adopted, note = resolve_keypoints(clinic, start)
    assert adopted.model.skeleton["flip_pairs"] == [] and note is None  # the start's own
    other, _ = resolve_keypoints(clinic, _config(tmp_path, keypoints="coco17"))
    assert other.model.keypoints == "from_data"  # a coco17 start cannot read clinic data
    assert len(skeleton_of(other.model).flip_pairs) == 6


def test_the_skeleton_travels_in_the_manifest(tmp_path, clinic_dir):
    config, _ = resolve_keypoints(_config(tmp_path, data_dir=clinic_dir, data_format="coco"))
    back = Manifest.from_state({"manifest": Manifest(config, 10, "d").to_json()}).config
    assert back == config and skeleton_of(back.model) == skeleton_of(config.model)


def test_a_start_of_another_skeleton_passes_on_the_joints_both_name():
    from tfpose_dp.models.pose_model import build_pose_model
    from tfpose_dp.runs.restore import copy_across_skeletons

    clinic = category_skeleton({"keypoints": list(CLINIC13)})
    assert head_rows(MPII16, clinic) == {
        j: MPII16.joint_names.index(n.lower()) for j, n in enumerate(CLINIC13) if n != "Head"
    }
    start = build_pose_model("tiny_vit_micro", (64, 48), "group", 2.0, num_joints=16)
    model = build_pose_model("tiny_vit_micro", (64, 48), "group", 2.0, num_joints=13)
    fresh = model.get_layer("simcc_head").final_layer.kernel.numpy()
    rows = copy_across_skeletons(start, model, MPII16, clinic)
    kernel = model.get_layer("simcc_head").final_layer.kernel.numpy()
    theirs = start.get_layer("simcc_head").final_layer.kernel.numpy()
    assert len(rows) == 12 and 0 not in rows
    for j, i in rows.items():
        np.testing.assert_array_equal(kernel[..., j], theirs[..., i])
    np.testing.assert_array_equal(kernel[..., 0], fresh[..., 0])  # Head: fresh
    maps = {id(v) for v in model.get_layer("simcc_head").final_layer.weights}
    others = [(a, b) for a, b in zip(start.weights, model.weights) if id(b) not in maps]
    assert len(others) == len(model.weights) - 2
    for a, b in others:
        np.testing.assert_array_equal(a.numpy(), b.numpy())
