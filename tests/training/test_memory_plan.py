"""The memory plan's arithmetic: what each mode holds, in MB."""

import pytest

from tfpose_dp.training.memory_plan import MB, describe, memory_plan

P, K, M = 5_000_000, 100, 100  # TinyViT-5M's scale, the paper's k and m


def test_pdp_with_vmap_holds_the_gradients_the_basis_and_the_refresh():
    largest = 400_000
    plan = memory_plan(5_100_000, P, "adam", "vmap", 16, "pdp", K, M, True, largest)
    assert plan["model"] == pytest.approx(4 * 5_100_000 / MB)
    assert plan["optimizer_slots"] == pytest.approx(8 * P / MB)  # Adam: m and v
    assert plan["per_example_gradients"] == pytest.approx(16 * 4 * P / MB)
    assert plan["pdp_basis"] == pytest.approx(4 * K * P / MB)
    # The refresh writes the public gradients where the basis was, in place: on top, one chunk
    # of public gradients, or two block temporaries (the largest variable's new rows) if larger.
    assert plan["pdp_refresh_working_set"] == pytest.approx(4 * 16 * P / MB)
    wide = memory_plan(5_100_000, P, "adam", "vmap", 16, "pdp", K, M, True, 500_000)
    assert wide["pdp_refresh_working_set"] == pytest.approx(4 * 2 * K * 500_000 / MB)
    more_public = memory_plan(P, P, "adam", "vmap", 16, "pdp", K, 3 * K, True, largest)
    assert more_public["pdp_basis"] == pytest.approx(4 * 3 * K * P / MB)  # m > k rows
    assert plan["total"] == pytest.approx(sum(v for n, v in plan.items() if n != "total"))
    assert "pdp_basis 1,907" in describe(plan)


def test_ghost_sgd_and_non_private_runs_hold_less():
    ghost = memory_plan(P, P, "sgd", "ghost", 16, "none", K, 0, private=True)
    assert ghost["optimizer_slots"] == pytest.approx(4 * P / MB)  # momentum only
    assert ghost["per_example_gradients"] == pytest.approx(4 * P / MB)
    assert "pdp_basis" not in ghost
    baseline = memory_plan(P, P, "sgd", "vmap", 16, "none", K, 0, private=False)
    assert set(baseline) == {"model", "optimizer_slots", "total"}
