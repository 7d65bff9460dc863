import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.privacy import accounting
from tfpose_dp.privacy.eigenbasis import (
    basis_rows,
    captured_share,
    top_eigenbasis,
    top_eigenbasis_and_share,
)
from tfpose_dp.privacy.projection import SubspaceProjection


def _grads(m=12, p=60, rank=None, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(m, p))
    if rank is not None:
        g = rng.normal(size=(m, rank)) @ rng.normal(size=(rank, p))
    return g.astype(np.float32)


def test_basis_is_orthonormal_with_rank_min_k_m():
    for k, m in ((5, 12), (20, 12)):
        v = top_eigenbasis(_grads(m=m), k).numpy()
        assert v.shape == (60, min(k, m))
        np.testing.assert_allclose(v.T @ v, np.eye(min(k, m)), atol=1e-4)


def test_rank_deficient_public_gradients_give_their_rank():
    v = top_eigenbasis(_grads(m=12, rank=3), 10).numpy()
    assert v.shape[1] == 3


def test_basis_spans_the_top_eigenvectors_of_the_dense_second_moment():
    g = _grads(m=15, p=40)
    k = 4
    v = top_eigenbasis(g, k).numpy()
    second_moment = g.T @ g / g.shape[0]
    evals, evecs = np.linalg.eigh(second_moment)
    dense = evecs[:, ::-1][:, :k]
    # Same subspace: the projectors agree.
    np.testing.assert_allclose(v @ v.T, dense @ dense.T, atol=1e-4)


def test_column_blocks_give_the_basis_of_the_whole_matrix():
    # The trainer passes one (m, p_v) block per variable instead of concatenating (m, p).
    g = _grads(m=15, p=40)
    whole = top_eigenbasis(g, 5).numpy()
    blocks = top_eigenbasis([g[:, :7], g[:, 7:8], g[:, 8:]], 5).numpy()
    np.testing.assert_allclose(blocks @ blocks.T, whole @ whole.T, atol=1e-5)
    np.testing.assert_allclose(blocks.T @ blocks, np.eye(5), atol=1e-5)


def test_captured_share_of_fresh_stale_and_random_bases():
    g = _grads(m=20, p=300, seed=3)
    v, share = top_eigenbasis_and_share(g, 5)
    second_moment_evals = np.linalg.eigvalsh(g.astype(np.float64).T @ g)[::-1]
    assert share == pytest.approx(second_moment_evals[:5].sum() / second_moment_evals.sum(), 1e-4)
    assert captured_share([g[:, :100], g[:, 100:]], v) == pytest.approx(share, 1e-4)
    assert captured_share(g, top_eigenbasis(g, 20)) == pytest.approx(1.0, 1e-4)  # spans G
    stale = top_eigenbasis(_grads(m=20, p=300, seed=4), 5)  # another set's basis: ~k/p
    assert captured_share(g, stale) < 0.1


def _chunks(g, sizes, rows_per_chunk):
    """The (m, p) gradients as the trainer feeds a refresh: per chunk, per-variable (n, p_v)
    parts and their factors (ones)."""
    offsets = np.cumsum([0] + sizes)
    for a in range(0, g.shape[0], rows_per_chunk):
        rows = g[a : a + rows_per_chunk]
        parts = [tf.constant(rows[:, s:e]) for s, e in zip(offsets, offsets[1:])]
        yield parts, tf.ones([rows.shape[0]])


@pytest.mark.parametrize("rank", [None, 3])  # full rank, rank-deficient
@pytest.mark.parametrize("k, m", [(5, 12), (12, 12), (20, 12)])
def test_in_place_refresh_equals_the_reference_basis(rank, k, m):
    g = _grads(m=m, p=60, rank=rank)
    sizes = [25, 5, 30]
    proj = SubspaceProjection([[5, 5], [5], [3, 10]], k, m)
    assert proj.rows == max(k, m) and [b.shape for b in proj.blocks] == [
        (max(k, m), n) for n in sizes
    ]
    proj.set_basis(top_eigenbasis(_grads(m=12, p=60, seed=5), k))  # an older basis is replaced
    r, share = proj.refresh(_chunks(g, sizes, 5))  # chunks of 5 rows: the last one shorter
    expected, expected_share = top_eigenbasis_and_share(g, k)
    expected = expected.numpy()
    v = proj.basis_matrix().numpy()
    assert r == expected.shape[1] == min(k, rank or m) and bool(proj.active)
    np.testing.assert_allclose(v[:, :r], expected, atol=1e-5)  # the same basis, column by column
    np.testing.assert_array_equal(v[:, r:], 0.0)  # rows beyond the rank are zero
    assert share == pytest.approx(expected_share, abs=1e-6)


def test_refresh_of_zero_gradients_turns_the_projection_off_and_more_rows_are_refused():
    proj = SubspaceProjection([[30]], 4, 6)
    assert proj.refresh(_chunks(np.zeros((5, 30), np.float32), [30], 5)) == (0, 0.0)
    assert not bool(proj.active)
    with pytest.raises(ValueError, match="rows"):
        proj.refresh(_chunks(_grads(m=7, p=30), [30], 7))


def test_captured_share_of_chunks_matches_the_reference():
    g = _grads(m=20, p=300, seed=3)
    proj = SubspaceProjection([[100], [200]], 5, 20)
    proj.set_basis(top_eigenbasis(_grads(m=20, p=300, seed=4), 5))
    stale = proj.captured_share(_chunks(g, [100, 200], 8))
    assert stale == pytest.approx(captured_share(g, proj.basis_matrix()[:, :5]), abs=1e-6)
    _, share = proj.refresh(_chunks(g, [100, 200], 8))
    assert proj.captured_share(_chunks(g, [100, 200], 8)) == pytest.approx(share, abs=1e-5)


def test_projection_is_idempotent_and_reports_captured_energy():
    v = top_eigenbasis(_grads(), 6)
    proj = SubspaceProjection([[6, 5], [30]], 6)
    proj.set_basis(v)
    grads = [tf.random.normal([6, 5]), tf.random.normal([30])]
    once = proj(grads)
    twice = proj(once)
    for a, b in zip(once, twice):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    np.testing.assert_allclose(float(proj.captured_energy), 1.0, atol=1e-4)  # already in span


def test_projected_noise_norm_is_about_sqrt_k_over_p():
    p, k = 4000, 200
    rng = np.random.default_rng(1)
    v = top_eigenbasis(rng.normal(size=(300, p)).astype(np.float32), k)
    proj = SubspaceProjection([[p]], k)
    proj.set_basis(v)
    noise = tf.random.stateless_normal([p], seed=[1, 2])
    ratio = float(tf.norm(proj([noise])[0])) / float(tf.norm(noise))
    assert abs(ratio - np.sqrt(k / p)) < 0.3 * np.sqrt(k / p)
    assert abs(float(proj.captured_energy) - k / p) < 0.35 * k / p


def test_projection_is_identity_before_the_first_basis():
    proj = SubspaceProjection([[10]], 3)
    g = [tf.range(10, dtype=tf.float32)]
    np.testing.assert_array_equal(proj(g)[0].numpy(), g[0].numpy())


def test_accounting_is_unaffected_by_projection():
    # Projection is post-processing: the ledger records the same events with or without it.
    with_pdp, without = accounting.PrivacyLedger(1e-5), accounting.PrivacyLedger(1e-5)
    for ledger in (with_pdp, without):
        ledger.record_steps(0.01, 1.0, 50)
    assert with_pdp.epsilon() == without.epsilon()


def test_basis_is_orthonormal_to_float32_precision_for_ill_conditioned_gradients():
    rng = np.random.default_rng(0)
    g = (
        rng.normal(size=(60, 50_000)) * np.logspace(0, -2.5, 60)[:, None]
    )  # eigenvalues over 5 decades
    g = (g + 3.0 * rng.normal(size=(1, 50_000))).astype(np.float32)  # one dominant shared direction
    v = top_eigenbasis(g, 60).numpy()
    assert v.shape[1] > 30
    np.testing.assert_allclose(v.T @ v, np.eye(v.shape[1]), atol=1e-5)


def test_all_zero_public_gradients_leave_the_update_unprojected():
    v = top_eigenbasis(np.zeros((5, 30), np.float32), 4)
    assert v.shape == (30, 0)
    proj = SubspaceProjection([[30]], 4)
    proj.set_basis(v)
    g = [tf.constant(np.arange(30, dtype=np.float32))]
    np.testing.assert_array_equal(proj(g)[0].numpy(), g[0].numpy())  # identity, not zero


def test_probe_reports_the_clean_energy_inside_the_subspace_with_known_answers():
    rng = np.random.default_rng(3)
    basis, _ = np.linalg.qr(rng.normal(size=(50, 5)))
    proj = SubspaceProjection([[10, 5]], 5)
    proj.set_basis(tf.constant(basis, tf.float32))
    inside = basis @ rng.normal(size=5)  # a gradient in the subspace
    outside = rng.normal(size=50)
    outside -= basis @ (basis.T @ outside)  # orthogonal to it
    noise = [tf.constant(rng.normal(size=(10, 5)), tf.float32)]
    for gradient, expected in ((inside, 1.0), (outside, 0.0)):
        proj.probe([tf.constant(gradient.reshape(10, 5), tf.float32)], noise)
        assert float(proj.clean_energy.numpy()) == pytest.approx(expected, abs=1e-5)
    noise_share = float(proj.noise_energy.numpy())
    assert 0.0 < noise_share < 0.5  # ~k/p = 0.1 for isotropic noise
    half = (inside / np.linalg.norm(inside) + outside / np.linalg.norm(outside)).reshape(10, 5)
    proj.probe([tf.constant(half, tf.float32)], noise)
    assert float(proj.clean_energy.numpy()) == pytest.approx(0.5, abs=1e-5)
    assert float(proj.subspace_snr.numpy()) > float(proj.full_snr.numpy())


def test_a_refresh_writes_the_basis_by_dense_ops_only(monkeypatch):
    """A sparse write puts a variable in copy-on-read mode for good: every later read (the
    Gram passes, each step's projection) would copy the whole basis."""
    from tensorflow.python.ops import resource_variable_ops

    from tfpose_dp.privacy import projection as projection_module

    sparse = ("scatter_update", "scatter_nd_update", "batch_scatter_update", "sparse_read")
    for name in sparse + ("_strided_slice_assign",):

        def refuse(*args, name=name, **kwargs):
            raise AssertionError(f"a sparse write to the basis: {name}")

        monkeypatch.setattr(resource_variable_ops.BaseResourceVariable, name, refuse)
    g = _grads(m=9, p=60, seed=2)
    proj = SubspaceProjection([[25], [35]], 12, 9)  # rows beyond m are zeroed too
    proj.set_basis(top_eigenbasis(_grads(m=9, p=60, seed=6), 9))
    r, _ = proj.refresh(_chunks(g, [25, 35], 4))
    ops = {
        op.type
        for function in (projection_module._update_rows, basis_rows)
        for concrete in function._list_all_concrete_functions_for_serialization()
        for op in concrete.graph.get_operations()
    }
    assert "TensorScatterUpdate" in ops  # the traced write was inspected
    assert not {op for op in ops if op.startswith("ResourceScatter") or "SliceAssign" in op}
    np.testing.assert_allclose(
        proj.basis_matrix().numpy()[:, :r], top_eigenbasis(g, 12).numpy(), atol=1e-5
    )
