"""DP with augmentation: a fresh augmentation per sampled example is per-example preprocessing
only when a record's crop depends on that record alone. Keyed by the record's position, one
removed image would move every later record's crop and the step's clipped sum by far more than
C; keyed by the record's identity, the sum moves by at most C."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.data.annotations import load_split
from tfpose_dp.data.augmentation import AugmentConfig
from tfpose_dp.data.pipeline import make_example_fn
from tfpose_dp.models.pose_model import build_pose_model
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.privacy import clipping
from tfpose_dp.training.steps import make_per_example_loss_fn

SIZE = (64, 48)
STEP = 3
INPUTS = ("image", "target_x", "target_y", "target_weight")


@pytest.fixture(scope="module")
def neighbours(synthetic_dir):
    """(D, D'): the synthetic records, and the same without the first image (every later
    record moves one position down)."""
    records = load_split(synthetic_dir, "train")
    first = records.image_names()[0]
    keep = np.flatnonzero(records.image_names() != first)
    return records, records.subset(keep), len(records) - len(keep)


AUGMENT = AugmentConfig()


def _batch(records, indices, augment=AUGMENT):
    fn = make_example_fn(records, SIZE, SimCCCodec(SIZE, 2.0), augment, seed=11)
    examples = [fn(tf.constant(i, tf.int64), tf.constant(STEP, tf.int64)) for i in indices]
    return {k: tf.stack([e[k] for e in examples]) for k in INPUTS + ("mask",)}


def test_a_records_augmented_crop_does_not_depend_on_the_other_records(neighbours):
    full, without, removed = neighbours
    same = np.arange(removed, removed + 6)  # the same persons in both data sets
    a, b = _batch(full, same), _batch(without, same - removed)
    for name in INPUTS:
        np.testing.assert_array_equal(a[name].numpy(), b[name].numpy(), err_msg=name)
    plain = _batch(full, same, augment=None)  # and the augmentation does act
    assert not np.allclose(a["image"].numpy(), plain["image"].numpy())


def test_an_augmented_steps_clipped_sum_moves_by_at_most_C(neighbours):
    full, without, removed = neighbours
    clip = 0.05  # below every gradient norm: each example contributes exactly C
    model = build_pose_model("tiny_vit_micro", SIZE, "group")
    loss_fn = make_per_example_loss_fn(model)

    def clipped(records, indices, groups):  # groups: one image's persons clip together
        batch = _batch(records, indices)
        _, grads = clipping.per_example_gradients(
            loss_fn, {k: batch[k] for k in INPUTS}, model.trainable_variables
        )
        sums, norms = clipping.clipped_sum(grads, clip, batch["mask"], tf.constant(groups))
        assert float(tf.reduce_min(norms)) > clip
        return np.concatenate([s.numpy().ravel() for s in sums])

    sampled = np.arange(0, removed + 7)  # the removed image's persons and 7 others
    with_image = clipped(full, sampled, [0] * removed + list(range(removed, removed + 7)))
    without_image = clipped(without, sampled[removed:] - removed, list(range(7)))
    distance = np.linalg.norm(with_image - without_image)
    assert distance <= clip * (1 + 1e-4)
    assert distance > 0.5 * clip  # the removed image did contribute
