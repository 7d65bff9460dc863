"""A run's privacy plan: calibrated at the start (or the saved sigma on resume), and the
steps released before this start that its checkpoint lacks, charged before training on."""

from absl import logging

from tfpose_dp.privacy.accounting import check_delta, default_delta
from tfpose_dp.privacy.plan import PrivacyPlan, make_plan
from tfpose_dp.runs.manifest import Manifest
from tfpose_dp.training import noise_cache
from tfpose_dp.training.unit_keys import describe


def run_plan(config, n, total_steps, state, dry_run=False):
    """The plan of a private run over `n` units and `total_steps` steps (None: non-private).
    A resumed run (`state`: its checkpoint's) keeps the saved sigma, so resuming with more
    epochs continues the same ledger. A new sigma is calibrated once per setting on this
    machine (training/noise_cache.py; a dry run adds nothing to that cache)."""
    if config.privacy.nonprivate:
        return None
    p = config.privacy
    saved = PrivacyPlan.from_json(Manifest.from_state(state).plan) if state else None
    sigma = saved.noise_multiplier if saved else None
    batch = config.optim.batch_size
    if sigma is None and p.epsilon and p.epsilon > 0 and 0 < batch <= n:
        delta = p.delta if p.delta is not None else default_delta(n)
        check_delta(delta, n)  # the error make_plan would give, before any arithmetic
        sigma = noise_cache.noise_multiplier(
            batch / n, total_steps, p.epsilon, delta, p.accountant, write=not dry_run
        )
    plan = make_plan(
        n,
        config.optim.batch_size,
        total_steps,
        p.epsilon,
        p.delta,
        p.l2_norm_clip,
        p.accountant,
        noise_multiplier=sigma,
        unit=describe(config.data.privacy_unit),
    )
    if not saved:
        logging.info(
            "Calibrated noise multiplier sigma=%.4f for eps=%g, delta=%.3g over %d steps "
            "(q=%.5f, N=%d private units: %s each)",
            plan.noise_multiplier,
            plan.epsilon,
            plan.delta,
            total_steps,
            plan.sampling_rate,
            n,
            plan.unit,
        )
    return plan


def charge_discarded(plan, ledger, discarded, step, planned_steps, run_steps):
    """Charges the `discarded` [q, sigma, steps] segments (released, not in the checkpoint) to
    `ledger` at the rate they were released with (records older than that: the plan's), and
    returns the run's last step: the rest of the run fits in what the budget leaves."""
    for q, sigma, steps in discarded:
        q, sigma = (q, sigma) if q is not None else (plan.sampling_rate, plan.noise_multiplier)
        ledger.charge_discarded(q, sigma, steps)
    remaining = plan.budget_steps(planned_steps - step, after=ledger.segments)
    return min(run_steps, step + remaining)
