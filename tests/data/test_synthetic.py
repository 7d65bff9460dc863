import json
import os

import numpy as np

from tfpose_dp.data import synthetic
from tfpose_dp.data.annotations import load_split


def test_samples_are_deterministic_for_a_seed():
    a_img, a_ann = synthetic.make_sample(7, 3)
    b_img, b_ann = synthetic.make_sample(7, 3)
    assert a_ann == b_ann
    np.testing.assert_array_equal(np.asarray(a_img), np.asarray(b_img))
    assert synthetic.make_sample(8, 3)[1] != a_ann


def test_annotations_use_mpii_fields_order_and_proportions():
    for index in range(30):
        _, ann = synthetic.make_sample(0, index)
        assert set(ann) == {"image", "center", "scale", "joints", "joints_vis", "head_box"}
        j = np.array(ann["joints"])
        assert j.shape == (16, 2)
        assert j[9, 1] < j[8, 1] < j[6, 1], "head top above neck above pelvis (image y grows down)"
        assert j[12, 0] < j[13, 0], "front-facing: right shoulder on image left"
        stature = j[:, 1].max() - j[:, 1].min()
        assert ann["scale"] * 200 >= stature
        thigh = np.linalg.norm(j[2] - j[1])
        shin = np.linalg.norm(j[1] - j[0])
        assert 0.8 < thigh / shin < 1.25


def test_some_joints_are_occluded():
    hidden = sum(16 - sum(synthetic.make_sample(0, i)[1]["joints_vis"]) for i in range(60))
    assert hidden > 0


def test_dataset_writes_disjoint_splits_in_mpii_json(synthetic_dir):
    train = load_split(synthetic_dir, "train")
    val = load_split(synthetic_dir, "valid")
    assert len(train) == 120 and len(val) == 24
    assert not set(os.path.basename(p) for p in train.image_paths) & set(
        os.path.basename(p) for p in val.image_paths
    )
    with open(os.path.join(synthetic_dir, "annotations", "train.json")) as f:
        first = json.load(f)[0]
    np.testing.assert_allclose(train.joints[0], np.array(first["joints"]) - 1.0, rtol=1e-6)
    assert np.all(train.head_sizes > 0)


def test_second_call_reuses_the_written_set(synthetic_dir, tmp_path):
    root = os.path.dirname(synthetic_dir)
    again = synthetic.ensure_synthetic_dataset(120, 24, 0, root)
    assert again == synthetic_dir
    assert not [d for d in os.listdir(root) if d.startswith(".synthetic_tmp_")]


def test_private_domain_differs_the_way_clinical_footage_does():
    anns = [synthetic.make_sample(0, i, domain="private")[1] for i in range(80)]
    joints = [np.array(a["joints"]) for a in anns]
    lying = [j for j in joints if np.ptp(j[:, 0]) > 1.3 * np.ptp(j[:, 1])]
    back_or_side = [j for j in joints if j[12, 0] >= j[13, 0]]  # right shoulder not on image left
    assert len(lying) >= 4 and len(back_or_side) >= 8  # 10 % lying; back views, half the profiles
    for a, j in zip(anns, joints):  # the crop box holds lying people too (3:4 aspect)
        assert (
            a["scale"] * 200 >= np.ptp(j[:, 1])
            and a["scale"] * 200 * 0.75 >= np.ptp(j[:, 0]) * 0.99
        )
    hidden = sum(16 - sum(a["joints_vis"]) for a in anns) / len(anns)
    public_hidden = (
        sum(16 - sum(synthetic.make_sample(0, i)[1]["joints_vis"]) for i in range(80)) / 80
    )
    assert hidden > public_hidden  # blankets and furniture: heavier occlusion
    images = [
        np.asarray(synthetic.make_sample(0, i, domain=d)[0], np.float32)
        for i in range(20)
        for d in ("public", "private")
    ]
    contrast = [im.std() for im in images]
    assert np.mean(contrast[1::2]) < 0.7 * np.mean(contrast[::2])  # low contrast
    assert synthetic.make_sample(0, 3, domain="private")[1] != synthetic.make_sample(0, 3)[1]


def test_both_domains_load_through_the_real_loader(tmp_path):
    dirs = {
        d: synthetic.ensure_synthetic_dataset(30, 6, 0, str(tmp_path), domain=d)
        for d in synthetic.DOMAINS
    }
    assert dirs["public"] != dirs["private"]
    for d in dirs.values():
        train, val = load_split(d, "train"), load_split(d, "valid")
        assert len(train) == 30 and len(val) == 6 and np.all(train.head_sizes > 0)
    with np.testing.assert_raises(ValueError):
        synthetic.ensure_synthetic_dataset(3, 1, 0, str(tmp_path), domain="hospital")
