"""Privacy accounting with dp_accounting: calibration, spent epsilon, the ledger.

The mechanism of one training step is `PoissonSampledDpEvent(q, GaussianDpEvent(sigma))`,
composed once per step actually taken. Only public configuration enters: N, q, sigma, steps,
delta. The PLD is dp_accounting's add/remove-one PLD; the guarantee is stated for zero-out
neighbours (one unit replaced by an empty one, N fixed and public: N, q and sigma are released),
whose loss is the same under Poisson sampling, since a sampled empty unit adds nothing.
"""

import dataclasses
import functools
import json
import math

import dp_accounting
from dp_accounting.pld import privacy_loss_distribution

ACCOUNTANTS = ("pld", "rdp")
_RDP_ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(11, 64)) + [128, 256, 512, 1024]


class PrivacyConfigError(ValueError):
    """A privacy setting that cannot be honoured; the message says what to change."""


def default_delta(num_examples):
    """A delta well below 1/N: 1 / (10 N) (e.g. 4.5e-6 for MPII's 22,246 train persons)."""
    return 1.0 / (10.0 * num_examples)


def check_delta(delta, num_examples):
    if not 0.0 < delta < 1.0 / num_examples:
        raise PrivacyConfigError(
            f"--delta={delta:g} must be in (0, 1/N) = (0, {1.0 / num_examples:.3g}) for "
            f"N={num_examples} "
            "private examples: a delta >= 1/N allows releasing a whole example's data. "
            f"Leave --delta unset for the default 1/(10N) = {default_delta(num_examples):.3g}."
        )


def step_event(sampling_rate, noise_multiplier):
    return dp_accounting.PoissonSampledDpEvent(
        sampling_rate, dp_accounting.GaussianDpEvent(noise_multiplier)
    )


def _pld_interval(epsilon_hint):
    """PLD grid: the pessimistic discretisation error grows with the number of compositions;
    1e-4 is within ~1 % for eps >= 1, small budgets need a finer grid (still fast, since a
    large sigma gives a narrow loss distribution); a huge hint means "coarse and fast"."""
    if epsilon_hint >= 100:
        return 1e-3
    return 1e-5 if epsilon_hint < 1.0 else 1e-4


def epsilon_spent(segments, delta, kind="pld", epsilon_hint=1.0):
    """Epsilon of the composition of `segments` [(q, sigma, steps), ...] at `delta`.

    `epsilon_hint` (the expected order of the answer, e.g. the target) picks the PLD grid.
    """
    segments = [(q, s, int(n)) for q, s, n in segments if n > 0 and s != float("inf")]
    if not segments:
        return 0.0
    if kind == "pld":
        # Same PLD as dp_accounting's PLDAccountant builds for this event, cached per (q, sigma)
        # so that reporting eps every few steps costs one FFT self-composition.
        interval = _pld_interval(epsilon_hint)
        total = None
        for q, sigma, steps in segments:
            pld = _step_pld(q, sigma, interval).self_compose(steps)
            total = pld if total is None else total.compose(pld)
        return float(total.get_epsilon_for_delta(delta))
    if kind != "rdp":
        raise PrivacyConfigError(f"--accountant must be one of {ACCOUNTANTS}, got {kind!r}")
    acc = dp_accounting.rdp.RdpAccountant(_RDP_ORDERS)
    for q, sigma, steps in segments:
        acc.compose(step_event(q, sigma), steps)
    return float(acc.get_epsilon(delta))


@functools.lru_cache(maxsize=16)
def _step_pld(sampling_rate, noise_multiplier, interval):
    return privacy_loss_distribution.from_gaussian_mechanism(
        noise_multiplier,
        sensitivity=1.0,
        pessimistic_estimate=True,
        value_discretization_interval=interval,
        sampling_prob=sampling_rate,
    )


@functools.lru_cache(maxsize=8)  # a pure function of its arguments; ~1-15 s per call
def calibrate_noise_multiplier(sampling_rate, steps, epsilon, delta, kind="pld"):
    """Smallest noise multiplier whose `steps`-fold composition spends <= `epsilon`.

    Raises PrivacyConfigError when the target is impossible within sigma <= 1000.
    """
    if not epsilon > 0:
        raise PrivacyConfigError(f"--epsilon={epsilon} must be > 0 (smaller means more private).")
    if steps <= 0:
        raise PrivacyConfigError("training plans zero steps: raise --epochs")

    upper = 1000.0
    if epsilon_spent([(sampling_rate, upper, steps)], delta, kind, epsilon) > epsilon:
        raise PrivacyConfigError(
            f"epsilon={epsilon:g} at delta={delta:g} is out of reach for q={sampling_rate:.4g} "
            "over "
            f"{steps} steps even with noise multiplier {upper:g}: use more private examples, a "
            "smaller --batch_size, fewer --epochs, or a larger --epsilon."
        )

    def spent(sigma, hint):
        return epsilon_spent([(sampling_rate, sigma, steps)], delta, kind, hint)

    # Solve eps(sigma) = target on the log-log curve (smooth, decreasing) by the secant
    # method from a cheap coarse-grid start: a handful of fine-grid evaluations.
    start = _bisect(lambda s: spent(s, 1e3), epsilon, 0.05, upper, rel_tol=0.02)
    return _secant_solve(lambda s: spent(s, epsilon), epsilon, start)


def _bisect(eps_of_sigma, target, lo, hi, rel_tol):
    """Smallest sigma in [lo, hi] (to rel_tol) with eps_of_sigma(sigma) <= target (decreasing)."""
    while hi - lo > rel_tol * hi:
        mid = (lo + hi) / 2.0
        if eps_of_sigma(mid) <= target:
            hi = mid
        else:
            lo = mid
    return float(hi)


def _secant_solve(eps_of_sigma, target, sigma0, rel_tol=3e-3):
    """sigma with target * (1 - rel_tol) <= eps(sigma) <= target, found in log-log space."""
    log_t = math.log(target)
    pts = [(math.log(s), math.log(max(eps_of_sigma(s), 1e-300))) for s in (sigma0, 0.9 * sigma0)]
    best = None  # smallest sigma seen with eps <= target
    for x, y in pts:
        if y <= log_t and (best is None or x < best):
            best = x
    for _ in range(20):
        (x1, y1), (x2, y2) = pts[-2], pts[-1]
        if y2 <= log_t and y2 >= log_t + math.log(1 - rel_tol):
            return math.exp(x2)
        slope = (y2 - y1) / (x2 - x1) if x2 != x1 and y2 != y1 else -1.0
        x_new = x2 + (log_t + math.log(1 - rel_tol / 2) - y2) / slope
        x_new = min(max(x_new, x2 - 1.0), x2 + 1.0)  # at most a factor e per step
        y_new = math.log(max(eps_of_sigma(math.exp(x_new)), 1e-300))
        if y_new <= log_t and (best is None or x_new < best):
            best = x_new
        pts.append((x_new, y_new))
    if best is None:
        raise PrivacyConfigError(f"could not calibrate the noise multiplier for epsilon={target:g}")
    return math.exp(best)


def append_steps(segments, sampling_rate, noise_multiplier, steps=1):
    """Appends `steps` steps at (q, sigma) to [q, sigma, steps] `segments`, extending the last
    segment when it has the same (q, sigma)."""
    last = segments[-1] if segments else None
    if last and last[0] == sampling_rate and last[1] == noise_multiplier:
        last[2] += steps
    else:
        segments.append([sampling_rate, noise_multiplier, steps])


@dataclasses.dataclass
class PrivacyLedger:
    """The DP events actually executed, as (q, sigma, steps) segments; lives in checkpoints.

    A resumed run appends to the same ledger, so epsilon covers every step ever taken.
    """

    delta: float
    segments: list = dataclasses.field(default_factory=list)
    discarded: int = 0  # steps released, then lost to a crash or a rewind: charged, not trained

    def record_steps(self, sampling_rate, noise_multiplier, steps=1):
        append_steps(self.segments, sampling_rate, noise_multiplier, steps)

    @property
    def steps(self):
        return sum(s[2] for s in self.segments)

    def epsilon(self, kind="pld", epsilon_hint=1.0):
        if not self.steps:
            return 0.0
        return epsilon_spent(self.segments, self.delta, kind, epsilon_hint)

    def charge_discarded(self, sampling_rate, noise_multiplier, steps):
        """Charges `steps` released steps that the resumed trajectory does not contain."""
        if steps:
            self.record_steps(sampling_rate, noise_multiplier, steps)
            self.discarded += steps

    @property
    def trained_steps(self):
        """The steps of the trajectory in hand (equals the checkpoint's step)."""
        return self.steps - self.discarded

    def to_json(self):
        return json.dumps(
            {"delta": self.delta, "segments": self.segments, "discarded": self.discarded}
        )

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        segments = [list(s) for s in data["segments"]]
        return cls(delta=data["delta"], segments=segments, discarded=data.get("discarded", 0))
