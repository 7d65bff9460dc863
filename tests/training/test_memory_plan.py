"""The memory plan's arithmetic: what each mode holds, in MB."""

import pytest

from tfpose_dp.training.memory_plan import MB, describe, memory_plan

P, K, M = 5_000_000, 100, 100  # TinyViT-5M's scale, the paper's k and m


def test_pdp_with_vmap_holds_the_gradients_the_basis_and_the_refresh():
    plan = memory_plan(5_100_000, P, "adam", "vmap", 16, "pdp", K, M, private=True)
    assert plan["model"] == pytest.approx(4 * 5_100_000 / MB)
    assert plan["optimizer_slots"] == pytest.approx(8 * P / MB)  # Adam: m and v
    assert plan["per_example_gradients"] == pytest.approx(16 * 4 * P / MB)
    assert plan["pdp_basis"] == pytest.approx(4 * K * P / MB)
    # Today's refresh: two more copies of the basis and the (m, p) public gradients.
    assert plan["pdp_refresh_working_set"] == pytest.approx(4 * (2 * K + M) * P / MB)
    assert plan["total"] == pytest.approx(sum(v for n, v in plan.items() if n != "total"))
    assert "pdp_basis 1,907" in describe(plan)


def test_ghost_sgd_and_non_private_runs_hold_less():
    ghost = memory_plan(P, P, "sgd", "ghost", 16, "none", K, 0, private=True)
    assert ghost["optimizer_slots"] == pytest.approx(4 * P / MB)  # momentum only
    assert ghost["per_example_gradients"] == pytest.approx(4 * P / MB)
    assert "pdp_basis" not in ghost
    baseline = memory_plan(P, P, "sgd", "vmap", 16, "none", K, 0, private=False)
    assert set(baseline) == {"model", "optimizer_slots", "total"}
