import collections
import os

import pytest


def pytest_configure(config):
    """Two logical CPU devices, so MirroredStrategy runs on this CPU-only machine (tests/training/
    test_distribution.py). Must happen before any test starts TensorFlow's runtime."""
    del config
    from tfpose_dp.training.distribution import split_cpu

    split_cpu(2)


def pytest_collection_modifyitems(config, items):
    """Files with more end-to-end (slow) tests run first: xdist hands whole files to its
    workers in this order, so the long files start early and the short ones fill the end
    (the suite's wall time is that of its busiest worker). Order within a file is kept."""
    del config
    slow = collections.Counter(str(i.fspath) for i in items if i.get_closest_marker("slow"))
    items.sort(key=lambda item: -slow[str(item.fspath)])


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
            synthetic_domain="public",  # the set `synthetic_dir` wrote
            public_finetune_steps=0,  # not the main command's auto stage
        )
        settings.update(overrides)
        return RunConfig.from_flat(settings)

    return make


@pytest.fixture(scope="session")
def crowdpose_dir(synthetic_dir, tmp_path_factory):
    """The built-in people as a CrowdPose-format set (14 joints)."""
    limbs = [[13, 14], [14, 1], [14, 2], [1, 3], [3, 5], [2, 4], [4, 6], [1, 7], [2, 8]]
    limbs += [[7, 9], [9, 11], [8, 10], [10, 12], [7, 8]]
    from skeleton_sets import CROWDPOSE14, write_skeleton_set

    return write_skeleton_set(
        str(tmp_path_factory.mktemp("crowdpose")), synthetic_dir, CROWDPOSE14, limbs
    )


@pytest.fixture(scope="session")
def clinic_dir(synthetic_dir, tmp_path_factory):
    """The built-in people labelled with a made-up 13-joint clinic skeleton."""
    limbs = [[1, 2], [1, 3], [2, 4], [4, 6], [3, 5], [5, 7], [2, 8], [3, 9], [8, 10], [10, 12]]
    limbs += [[9, 11], [11, 13], [8, 9]]
    from skeleton_sets import CLINIC13, write_skeleton_set

    return write_skeleton_set(
        str(tmp_path_factory.mktemp("clinic")), synthetic_dir, CLINIC13, limbs
    )
