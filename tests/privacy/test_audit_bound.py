"""The one-run audit bound against closed forms and a separate implementation of the theorem."""

import math

import numpy as np
import pytest

from tfpose_dp.privacy.audit_bound import best_guesses, epsilon_lower_bound, p_value


def _naive_p_value(m, r, v, eps, delta):
    """The theorem's p-value written from its statement with exact binomial sums."""
    q = math.exp(eps) / (1 + math.exp(eps))
    pmf = [math.comb(r, k) * q**k * (1 - q) ** (r - k) for k in range(r + 1)]
    tail = sum(pmf[v:])
    worst = max((sum(pmf[v - i : v]) / i for i in range(1, v + 1)), default=0.0)
    return min(tail + 2 * m * delta * worst, 1.0)


@pytest.mark.parametrize("r", [20, 100, 500])
def test_all_correct_guesses_without_delta_match_the_closed_form(r):
    # P[Binomial(r, q) >= r] = q^r = 0.05  <=>  eps = logit(0.05^(1/r))
    q = 0.05 ** (1 / r)
    assert epsilon_lower_bound(1000, r, r, 0.0) == pytest.approx(math.log(q / (1 - q)), abs=1e-4)


@pytest.mark.parametrize(
    "m,r,v,eps,delta",
    [
        (1000, 100, 80, 1.0, 1e-5),
        (400, 50, 45, 2.0, 1e-3),
        (200, 200, 120, 0.3, 0.0),
        (1000, 60, 60, 4.0, 1e-4),
    ],
)
def test_p_value_equals_the_theorem_written_out(m, r, v, eps, delta):
    assert p_value(m, r, v, eps, delta) == pytest.approx(
        _naive_p_value(m, r, v, eps, delta), rel=1e-9
    )


def test_bound_is_where_the_p_value_crosses_the_confidence_level():
    bound = epsilon_lower_bound(1000, 200, 170, 1e-5)
    assert bound > 0.5
    assert (
        p_value(1000, 200, 170, bound - 1e-3, 1e-5)
        < 0.05
        <= p_value(1000, 200, 170, bound + 1e-3, 1e-5)
    )
    assert epsilon_lower_bound(1000, 200, 100, 1e-5) == 0.0  # chance level
    assert epsilon_lower_bound(1000, 200, 170, 1e-2) < bound  # a larger delta proves less


def test_guesses_take_the_extremes_and_report_the_best_count_bonferroni_corrected():
    rng = np.random.default_rng(0)
    included = rng.integers(0, 2, 400)
    scores = included + rng.normal(0, 0.3, 400)  # a strong attack
    best = best_guesses(list(scores), list(included), [40, 200], delta=1e-5)
    assert best["guesses"] in (40, 200) and best["correct_guesses"] > 0.9 * best["guesses"]
    alone = epsilon_lower_bound(400, best["guesses"], best["correct_guesses"], 1e-5, alpha=0.025)
    assert best["empirical_epsilon_lower_bound"] == pytest.approx(alone)
    blind = best_guesses(list(rng.normal(size=400)), list(included), [40, 200], delta=1e-5)
    assert blind["empirical_epsilon_lower_bound"] < 0.5
