"""An empirical lower bound on epsilon from one training run (Steinke, Nasr, Jagielski,
"Privacy Auditing with One (1) Training Run", NeurIPS 2023).

m canaries each join the training set independently with probability 1/2 (a secret coin).
After training an auditor guesses membership for r of them (abstaining on the rest) and is
right v times. If training is (eps, delta)-DP, the paper's main theorem (Thm. 3, with the
delta term of its Prop. 5 / Appendix D) bounds the chance of v or more correct guesses by

  p(eps, delta) = P[Binomial(r, q) >= v]
                  + 2 m delta * max_{1 <= i <= v} P[v - i <= Binomial(r, q) < v] / i,

with q = e^eps / (1 + e^eps), the accuracy of eps-DP randomised response. The lower bound at
confidence 1 - alpha is the largest eps that this p-value rejects (p(eps, delta) < alpha): the
run is not (eps, delta)-DP with that confidence. It is a lower bound, not a proof of privacy,
and it is weak for small epsilon by nature (a few hundred guesses cannot separate eps = 0.2
from eps = 0).

>>> round(epsilon_lower_bound(m=1000, r=100, v=100, delta=0.0), 3)  # all right: q^100 = 0.05
3.493
>>> epsilon_lower_bound(m=1000, r=100, v=50, delta=1e-5)  # chance level proves nothing
0.0
"""

import math

from scipy import stats


def p_value(m, r, v, epsilon, delta):
    """P[>= v correct of r guesses] for an (epsilon, delta)-DP run with m canaries (upper bound)."""
    if not 0 <= v <= r <= m:
        raise ValueError(f"need 0 <= correct ({v}) <= guesses ({r}) <= canaries ({m})")
    q = 1.0 / (1.0 + math.exp(-epsilon))
    tail = float(stats.binom.sf(v - 1, r, q))  # P[Binomial(r, q) >= v]
    if delta == 0 or v == 0:
        return min(tail, 1.0)
    worst, window = 0.0, 0.0
    for i in range(1, v + 1):
        window += float(stats.binom.pmf(v - i, r, q))  # P[v - i <= Binomial < v]
        worst = max(worst, window / i)
    return min(tail + 2.0 * m * delta * worst, 1.0)


def epsilon_lower_bound(m, r, v, delta, alpha=0.05, tolerance=1e-6):
    """Largest epsilon rejected at confidence 1 - alpha (0 when even epsilon = 0 is not)."""
    if p_value(m, r, v, 0.0, delta) >= alpha:
        return 0.0
    lo, hi = 0.0, 1.0
    while p_value(m, r, v, hi, delta) < alpha:
        lo, hi = hi, 2.0 * hi
        if hi > 1e3:
            return float("inf")
    while hi - lo > tolerance:
        mid = (lo + hi) / 2.0
        if p_value(m, r, v, mid, delta) < alpha:
            lo = mid
        else:
            hi = mid
    return lo


def best_guesses(scores, included, guess_counts, delta, alpha=0.05):
    """Guesses "in" for the r/2 highest and "out" for the r/2 lowest scores, for each r of
    `guess_counts`; the r reported is the one with the largest bound, each tested at
    alpha / len(guess_counts) (Bonferroni), so the report holds at confidence 1 - alpha.

    Returns {"guesses", "correct_guesses", "empirical_epsilon_lower_bound"}.
    """
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    m, best = (
        len(scores),
        {"guesses": 0, "correct_guesses": 0, "empirical_epsilon_lower_bound": 0.0},
    )
    for r in guess_counts:
        half = max(1, min(r, m) // 2)
        outs, ins = order[:half], order[-half:]
        correct = sum(1 for i in ins if included[i]) + sum(1 for i in outs if not included[i])
        bound = epsilon_lower_bound(m, 2 * half, correct, delta, alpha / len(guess_counts))
        if bound >= best["empirical_epsilon_lower_bound"]:
            best = {
                "guesses": 2 * half,
                "correct_guesses": correct,
                "empirical_epsilon_lower_bound": bound,
            }
    return best
