"""The PDP refresh: the top-k basis of the public per-example gradients, clipped as the
private ones are, whatever the batching of the public examples."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.models.pose_model import build_pose_model
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.privacy.clipping import compiled_per_example_gradients, per_example_gradients
from tfpose_dp.privacy.eigenbasis import top_eigenbasis_and_share
from tfpose_dp.privacy.projection import SubspaceProjection
from tfpose_dp.training.pdp_basis import PublicBasis
from tfpose_dp.training.steps import make_per_example_loss_fn

SIZE = (32, 24)


def _examples(n, seed=0):
    codec = SimCCCodec(SIZE)
    rng = np.random.default_rng(seed)
    kp = (rng.uniform(0, 1, (n, 16, 2)) * [SIZE[1], SIZE[0]]).astype(np.float32)
    tx, ty, w = codec.encode(kp, np.ones((n, 16), np.float32))
    image = rng.normal(size=(n, *SIZE, 3)).astype(np.float32)
    return {
        "image": image,
        "target_x": tx.numpy(),
        "target_y": ty.numpy(),
        "target_weight": w.numpy(),
    }


def _batches(examples, size):
    """Padded batches of `size` with a mask, as the trainer's public batches are."""
    n = len(examples["image"])
    out = []
    for start in range(0, n, size):
        batch = {}
        for name, value in examples.items():
            part = value[start : start + size]
            pad = [(0, size - len(part))] + [(0, 0)] * (part.ndim - 1)
            batch[name] = tf.constant(np.pad(part, pad))
        batch["mask"] = tf.constant((np.arange(size) < n - start).astype(np.float32))
        out.append(batch)
    return out


def test_refresh_is_the_top_basis_of_the_clipped_public_gradients():
    model = build_pose_model("tiny_vit_micro", SIZE, "group")
    variables = model.trainable_variables[-6:]
    examples = _examples(7)
    loss_fn = make_per_example_loss_fn(model)
    _, grads = per_example_gradients(
        loss_fn, {k: tf.constant(v) for k, v in examples.items()}, variables
    )
    g = np.concatenate([x.numpy().reshape(7, -1) for x in grads], 1)
    norms = np.linalg.norm(g, axis=1)
    clip = float(np.median(norms))  # some examples are clipped, some are not
    clipped = g * np.minimum(1.0, clip / norms)[:, None]
    expected, expected_share = top_eigenbasis_and_share(clipped.astype(np.float32), 4)
    expected = expected.numpy()

    for batch_size in (4, 7):  # a padded last batch, then one full batch
        projection = SubspaceProjection([v.shape for v in variables], 4, 7)
        gradients = compiled_per_example_gradients(loss_fn, variables)
        basis = PublicBasis(
            gradients, _batches(examples, batch_size), variables, projection, clip, True
        )
        basis.refresh()
        v = projection.basis_matrix().numpy()[:, :4]
        assert basis.rank == 4 and basis.examples == 7
        np.testing.assert_allclose(v @ v.T, expected @ expected.T, atol=2e-4)
        assert abs(basis.share - expected_share) < 1e-4
        basis.refresh()  # the basis it replaces is the same one: it keeps all of its share
        assert abs(basis.previous_share - basis.share) < 1e-4


def test_a_refresh_larger_than_max_basis_gb_is_refused_with_the_ways_out(run_config, tmp_path):
    from tfpose_dp.privacy.optimizer import PoseDPSGD
    from tfpose_dp.privacy.projection import refresh_bytes
    from tfpose_dp.run_config import ConfigError
    from tfpose_dp.training.setup import _projection

    # What a refresh holds at once: the basis blocks (max(k, m) rows of p), then one chunk of
    # public gradients or two block temporaries (2 rows x the largest variable).
    assert refresh_bytes(1_000, 10, 50, 16, 400) == 4 * (50 * 1_000 + 2 * 50 * 400)
    assert refresh_bytes(1_000, 10, 50, 16, 100) == 4 * (50 * 1_000 + 16 * 1_000)
    variables = [tf.Variable(tf.zeros([500, 500]))]  # p = 250,000, one variable
    public = list(range(100))  # m = 100; with k=100, one variable: 300 floats per parameter
    optimizer = PoseDPSGD(l2_norm_clip=1.0, noise_multiplier=1.0, expected_batch_size=16)
    small = run_config(tmp_path, projection="pdp", projection_dim=100, max_basis_gb=0.25)
    with pytest.raises(ConfigError, match=r"~0\.28 GB.*--trainable=last_stage.*--max_basis_gb"):
        _projection(small, variables, public, optimizer, 16)
    enough = run_config(tmp_path, projection="pdp", projection_dim=100, max_basis_gb=0.5)
    assert _projection(enough, variables, public, optimizer, 16).k == 100


@pytest.mark.slow  # builds a run and traces its per-example gradient
def test_the_basis_and_the_private_step_share_one_traced_per_example_gradient(run_config, tmp_path):
    from tfpose_dp.training import loop
    from tfpose_dp.training.setup import build_run

    config = run_config(tmp_path / "pdp", projection="pdp", projection_dim=4, public_examples=8)
    run = build_run(config, dry_run=True)
    run.basis.refresh()
    loss_sum, _, count = run.steps.accumulate(next(loop._inputs(run)))
    assert np.isfinite(float(loss_sum)) and float(count) > 0
    assert run.basis.rank == 4
    # the public batches have the private chunk's shape: one trace serves both
    assert run.steps.per_example_gradients.experimental_get_tracing_count() == 1
