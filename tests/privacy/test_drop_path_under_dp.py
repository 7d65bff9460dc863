"""DropPath under DP (issue 47.1): stochastic depth drew one stateful mask per slot of the
batch, so a record's mask depended on its slot and on how many chunks ran before it, and one
added image moved the other records' gradients. A private run builds its model without it."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.models.tinyvit_layers import DropPath
from tfpose_dp.privacy import clipping
from tfpose_dp.runs import restore
from tfpose_dp.training.steps import make_per_example_loss_fn

SIZE = (64, 48)


def _drop_rates(model):
    return [layer.rate for layer in model._flatten_layers() if isinstance(layer, DropPath)]


def test_a_private_run_builds_tiny_vit_11m_without_drop_path(run_config, tmp_path):
    private = restore.build_model(run_config(tmp_path, model="tiny_vit_11m"))
    nonprivate = restore.build_model(run_config(tmp_path, model="tiny_vit_11m", nonprivate=True))
    assert max(_drop_rates(nonprivate)) == pytest.approx(0.1)  # the published rate stays there
    assert _drop_rates(private) and max(_drop_rates(private)) == 0.0


@pytest.mark.slow  # per-example gradients of an 11M-parameter model
def test_removing_one_image_moves_tiny_vit_11ms_clipped_sum_by_at_most_C(run_config, tmp_path):
    """The neighbour test of the augmentation fix, on the model a private TinyViT-11M run
    trains: the same six records, once after a removed seventh, once alone."""
    model = restore.build_model(run_config(tmp_path, model="tiny_vit_11m", input_size=SIZE))
    variables = model.trainable_variables
    loss_fn = make_per_example_loss_fn(model)
    rng = np.random.default_rng(0)
    n, bins_x, bins_y = 7, SIZE[1] * 2, SIZE[0] * 2
    batch = {
        "image": tf.constant(rng.normal(size=(n, *SIZE, 3)), tf.float32),
        "target_x": tf.nn.softmax(tf.constant(rng.normal(size=(n, 16, bins_x)) * 3, tf.float32)),
        "target_y": tf.nn.softmax(tf.constant(rng.normal(size=(n, 16, bins_y)) * 3, tf.float32)),
        "target_weight": tf.ones([n, 16]),
    }
    clip = 1e-4  # below every gradient norm: each record contributes exactly C

    def clipped(rows):
        part = {k: tf.gather(v, rows) for k, v in batch.items()}
        _, grads = clipping.per_example_gradients(loss_fn, part, variables)
        sums, norms = clipping.clipped_sum(grads, clip, tf.ones([len(rows)]))
        assert float(tf.reduce_min(norms)) > clip
        return np.concatenate([s.numpy().ravel() for s in sums])

    with_image = clipped(list(range(n)))
    without_image = clipped(list(range(1, n)))
    distance = np.linalg.norm(with_image - without_image)
    assert 0.5 * clip < distance <= clip * (1 + 1e-3)
