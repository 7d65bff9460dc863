"""What a run's tensors will hold, in MB, before it trains: printed at the start and by
--dry_run, so that a plan that cannot fit is seen before hours are spent.

Counts float32 tensors whose size the configuration fixes; activations (which depend on the
input size and the backend) and the runtime's own come on top. What PDP adds was measured at
-20 % to +1 % of its plan on CPU (docs/speed.md "PDP's memory").

>>> plan = memory_plan(1000, 800, "adam", "vmap", 16, "pdp", 10, 20, private=True)
>>> plan["per_example_gradients"] == 4 * 800 * 16 / 2**20, plan["pdp_basis"] == 4 * 20 * 800 / 2**20
(True, True)
"""

from tfpose_dp.privacy.projection import refresh_bytes

MB = 2**20


def memory_plan(
    num_params,
    num_trainable,
    optimizer,
    clipping,
    slice_size,
    projection,
    k,
    m,
    private,
    largest_variable=0,
):
    """{part: MB} for one replica. `num_params`: the whole model; `num_trainable`: what the
    optimizer updates (p); `slice_size`: examples per replica per compiled chunk (and public
    examples per chunk of a PDP refresh); `largest_variable`: its size (a refresh's
    per-block temporaries)."""
    plan = {
        "model": 4 * num_params,
        "optimizer_slots": 4 * num_trainable * (2 if optimizer == "adam" else 1),
    }
    if private:
        plan["dp_clipped_sum"] = 4 * num_trainable
        # vmap materialises every example's whole gradient; ghost one layer's at a time.
        plan["per_example_gradients"] = (
            4 * num_trainable * (slice_size if clipping == "vmap" else 1)
        )
    if projection != "none":
        # max(k, m) rows: a refresh writes the m public gradients where the basis was.
        plan["pdp_basis"] = 4 * max(k, m) * num_trainable
        # Above the basis, a refresh holds one chunk of public per-example gradients (or two
        # block temporaries): counted although a private step's chunk is never alive at the
        # same time, since measured peaks hold both (docs/speed.md).
        plan["pdp_refresh_working_set"] = (
            refresh_bytes(num_trainable, k, m, slice_size, largest_variable) - plan["pdp_basis"]
        )
    plan = {name: value / MB for name, value in plan.items()}
    plan["total"] = sum(plan.values())
    return plan


def describe(plan):
    """One log line."""
    parts = ", ".join(f"{name} {value:,.0f}" for name, value in plan.items() if name != "total")
    return (
        f"Memory plan (MB per replica, activations and the runtime's own not included): {parts}; "
        f"total {plan['total']:,.0f}"
    )
