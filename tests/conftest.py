import os

import pytest


def pytest_configure(config):
    """Two logical CPU devices, so MirroredStrategy runs on this CPU-only machine (tests/training/
    test_distribution.py). Must happen before any test starts TensorFlow's runtime."""
    del config
    from tfpose_dp.training.distribution import split_cpu

    split_cpu(2)


SHARED_SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mpii_sample")


@pytest.fixture(scope="session")
def coco_sample():
    """The 4-image real COCO keypoints sample beside the repo; skips when it is absent."""
    path = os.path.abspath(os.path.join(os.path.dirname(SHARED_SAMPLE), "coco_sample"))
    if not os.path.exists(os.path.join(path, "test_coco.json")):
        pytest.skip("../shared/data/coco_sample is not present")
    return path


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Image-check caches and other rebuildable state go to a temporary folder, not ~/.cache."""
    os.environ["TFPOSE_DP_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def mpii_sample():
    """The 5-image real MPII sample beside the repo; tests using it skip when it is absent."""
    path = os.path.abspath(SHARED_SAMPLE)
    if not os.path.exists(os.path.join(path, "test_mpii.json")):
        pytest.skip("../shared/data/mpii_sample is not present")
    return path


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory):
    from tfpose_dp.data.synthetic import ensure_synthetic_dataset

    root = tmp_path_factory.mktemp("synthetic")
    return ensure_synthetic_dataset(num_train=120, num_val=24, seed=0, root=str(root))


@pytest.fixture(scope="session")
def run_config(synthetic_dir):
    """fn(model_dir, **overrides) -> the RunConfig of a tiny in-process run on `synthetic_dir`."""
    from tfpose_dp.run_config import RunConfig

    def make(model_dir, **overrides):
        settings = dict(
            model_dir=str(model_dir),
            model="tiny_vit_micro",
            norm="group",
            input_size=(64, 48),
            synthetic_train=120,
            synthetic_val=24,
            synthetic_root=os.path.dirname(synthetic_dir),
            batch_size=16,
            physical_batch_size=16,
            epochs=1,
            epsilon=4.0,
            augment=False,
            log_every=1,
            max_steps=1,
            learning_rate=0.05,
            optimizer="sgd",
        )
        settings.update(overrides)
        return RunConfig.from_flat(settings)

    return make


# Other skeletons, drawn from the built-in people's MPII joints (their index in MPII16).
CROWDPOSE14 = {  # CrowdPose's own names and order
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
    "head": 9,
    "neck": 8,
}
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
    import json

    import numpy as np

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


@pytest.fixture(scope="session")
def crowdpose_dir(synthetic_dir, tmp_path_factory):
    """The built-in people as a CrowdPose-format set (14 joints)."""
    limbs = [[13, 14], [14, 1], [14, 2], [1, 3], [3, 5], [2, 4], [4, 6], [1, 7], [2, 8]]
    limbs += [[7, 9], [9, 11], [8, 10], [10, 12], [7, 8]]
    return write_skeleton_set(
        str(tmp_path_factory.mktemp("crowdpose")), synthetic_dir, CROWDPOSE14, limbs
    )


@pytest.fixture(scope="session")
def clinic_dir(synthetic_dir, tmp_path_factory):
    """The built-in people labelled with a made-up 13-joint clinic skeleton."""
    limbs = [[1, 2], [1, 3], [2, 4], [4, 6], [3, 5], [5, 7], [2, 8], [3, 9], [8, 10], [10, 12]]
    limbs += [[9, 11], [11, 13], [8, 9]]
    return write_skeleton_set(
        str(tmp_path_factory.mktemp("clinic")), synthetic_dir, CLINIC13, limbs
    )
