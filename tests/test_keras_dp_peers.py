"""tools/keras_dp_peers.py: each Keras-level DP step of the benchmark trains the pose model."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "tools"))

from keras_dp_peers import KERAS_MODES, keras_step  # noqa: E402
from random_pose_batch import random_pose_batch  # noqa: E402

from tfpose_dp.models.pose_model import build_pose_model  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("mode", KERAS_MODES)
def test_each_peer_step_moves_the_weights(mode):
    model = build_pose_model("tiny_vit_micro", (32, 24), "group")
    batch = random_pose_batch((32, 24), 4)
    before = [v.numpy() for v in model.trainable_variables]
    step, facts = keras_step(mode, model, batch, expected_batch_size=4)
    step()
    after = [v.numpy() for v in model.trainable_variables]
    assert all(np.isfinite(a).all() for a in after)
    assert sum(not np.array_equal(a, b) for a, b in zip(after, before)) > len(before) // 2
    if mode == "tfp_dpmodel":  # TinyViT's layers are not in TF Privacy's fast-clipping registry
        assert facts == {"tfp_dpmodel_fast_path": False}
