"""GEP: the split-and-clip sum against a per-example loop, and each part's noise."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.privacy.gep import NOISE_FACTOR, split_clip_sum
from tfpose_dp.privacy.optimizer import PoseDPSGD
from tfpose_dp.privacy.projection import SubspaceProjection


def _setup(seed=0, b=6, p=40, k=3):
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(p, k)))
    grads = [
        rng.normal(size=(b, 5, 4)) * rng.uniform(0.1, 3.0, (b, 1, 1)),
        rng.normal(size=(b, 20)),
    ]
    return basis.astype(np.float32), [g.astype(np.float32) for g in grads]


def _blocks(basis):
    """The (p, k) basis as the projection holds it: (k, p_v) blocks per variable (20 + 20)."""
    projection = SubspaceProjection([[5, 4], [20]], basis.shape[1])
    projection.set_basis(tf.constant(basis))
    return projection.blocks


def test_split_clip_sum_equals_a_per_example_loop():
    basis, grads = _setup()
    mask = np.array([1, 1, 1, 1, 0, 1], np.float32)
    coords, residuals = split_clip_sum(
        [tf.constant(g) for g in grads], _blocks(basis), 1.5, 0.2, tf.constant(mask)
    )
    want_coords, want_residual = np.zeros(3), np.zeros(40)
    for i in range(6):
        g = np.concatenate([grads[0][i].ravel(), grads[1][i]])
        w = basis.T @ g
        r = g - basis @ w
        want_coords += mask[i] * w * min(1.0, 1.5 / np.linalg.norm(w))
        want_residual += mask[i] * r * min(1.0, 0.2 / np.linalg.norm(r))
    np.testing.assert_allclose(coords.numpy(), want_coords, rtol=1e-4, atol=1e-5)
    flat = np.concatenate([residuals[0].numpy().ravel(), residuals[1].numpy()])
    np.testing.assert_allclose(flat, want_residual, rtol=1e-4, atol=1e-5)


def test_a_non_finite_example_adds_nothing():
    basis, grads = _setup()
    grads[0][2, 0, 0] = np.nan
    coords, residuals = split_clip_sum(
        [tf.constant(g) for g in grads], _blocks(basis), 1.0, 1.0, tf.ones(6)
    )
    assert np.isfinite(coords.numpy()).all() and all(
        np.isfinite(r.numpy()).all() for r in residuals
    )


def test_each_part_gets_sqrt2_sigma_times_its_clip():
    p, k, sigma, c1, c2 = 4000, 50, 1.3, 2.0, 0.25
    basis, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(p, k)))
    w = tf.Variable(tf.zeros([p]))
    opt = PoseDPSGD(
        l2_norm_clip=c1,
        noise_multiplier=sigma,
        expected_batch_size=1,
        noise_key=4,
        learning_rate=1.0,
    )
    projection = SubspaceProjection([[p]], k)
    projection.set_basis(tf.constant(basis, tf.float32))
    opt.use_gep(projection, c2)
    opt._ensure_accumulators([w])
    grads = opt.private_gradients([w])  # nothing drawn: pure noise
    update = grads[0].numpy()
    inside, outside = basis.T @ update, update - basis @ (basis.T @ update)
    assert inside.std() == pytest.approx(NOISE_FACTOR * sigma * c1, rel=0.25)
    # The residual noise is isotropic in p dims; outside the subspace it keeps (p - k) of them.
    assert np.linalg.norm(outside) / np.sqrt(p - k) == pytest.approx(
        NOISE_FACTOR * sigma * c2, rel=0.05
    )
