"""The privacy plan: calibration, the budget cut a resume with more epochs hits, its DP event."""

import dp_accounting
import pytest

from tfpose_dp.privacy import accounting
from tfpose_dp.privacy.plan import PrivacyPlan, make_plan


def test_plan_meets_its_target_and_its_event_composes_to_the_same_epsilon():
    plan = make_plan(num_examples=2000, batch_size=20, steps=300, epsilon=1.0)
    assert plan.sampling_rate == 0.01 and plan.delta == pytest.approx(1 / 20000)
    assert 0.99 <= plan.epsilon_after(300) <= 1.0
    pld = dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-4)
    pld.compose(plan.dp_event())
    assert pld.get_epsilon(plan.delta) == pytest.approx(plan.epsilon_after(300), rel=0.02)


def test_budget_cut_is_the_last_step_within_the_target():
    plan = make_plan(num_examples=2000, batch_size=20, steps=100, epsilon=1.0)
    cut = plan.budget_steps(250)  # a resume asking for 2.5x the planned steps
    assert 100 <= cut < 250
    assert plan.epsilon_after(cut) <= 1.0 * (1 + 1e-6) < plan.epsilon_after(cut + 1)
    assert plan.budget_steps(80) == 80  # within budget: no cut


def test_given_sigma_is_taken_and_json_round_trips():
    plan = make_plan(num_examples=500, batch_size=10, steps=50, epsilon=2.0, noise_multiplier=1.3)
    assert plan.noise_multiplier == 1.3
    assert PrivacyPlan.from_json(plan.to_json()) == plan


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"batch_size": 600}, "--batch_size=600 must be in"),
        ({"delta": 0.01}, "1/N"),
        ({"epsilon": 0.0}, "--epsilon=0.0 must be > 0"),
        ({"noise_multiplier": 0.0}, "--noise_multiplier=0.0 must be > 0"),
    ],
)
def test_impossible_settings_are_refused_with_what_to_change(kwargs, message):
    settings = dict(num_examples=500, batch_size=10, steps=50, epsilon=1.0) | kwargs
    with pytest.raises(accounting.PrivacyConfigError, match=message.replace("(", r"\(")):
        make_plan(**settings)


def test_statement_names_the_unit_of_privacy_and_what_is_not_covered():
    plan = make_plan(num_examples=500, batch_size=10, steps=50, noise_multiplier=1.0)
    text = plan.statement(50, 0.99, "pdp", start="initialised from X")
    assert (
        "one image (all persons in it)" in text
        and "validation split" in text
        and "Start: initialised" in text
    )
    assert "NO DP GUARANTEE" in plan.statement(50, 0.99, public_noise=True)


def test_statement_names_the_neighbouring_relation_that_matches_what_is_released():
    """N, q, delta = 1/(10N) and sigma are released: the relation keeps N fixed (issue 47.3)."""
    plan = make_plan(num_examples=500, batch_size=10, steps=50, noise_multiplier=1.0)
    text = plan.statement(50, 0.99)
    assert "Neighbouring data sets: zero-out" in text and "N fixed and public" in text
    assert "add/remove-one adjacency" not in text
    assert plan.to_json()["neighbouring_relation"].startswith("zero-out")
    assert PrivacyPlan.from_json(plan.to_json()) == plan
