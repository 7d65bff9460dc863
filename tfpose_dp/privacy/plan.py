"""The privacy plan of a run: N, q, sigma, steps, delta, the budget cut, and its statement.

Everything here is public configuration (nothing depends on private data values); the trainer
and the calculator (`python -m tfpose_dp.privacy`) build it with `make_plan`. One step of
training is the DP event `PoissonSampled(q, Gaussian(sigma))`.

>>> plan = make_plan(num_examples=1000, batch_size=10, steps=200, noise_multiplier=1.1)
>>> plan.sampling_rate, plan.steps, round(plan.delta, 6)
(0.01, 200, 0.0001)
>>> round(plan.epsilon_after(200, "rdp"), 2)
0.81
"""

import dataclasses

import dp_accounting

from tfpose_dp.privacy import accounting

# What the guarantee does not cover; the statement ends with it.
# One image with every person in it: a person's crop shows the people around them
# (privacy/image_units.py).
UNIT_OF_PRIVACY = "one image (all persons in it)"
# N, q = B/N, the step count, delta = 1/(10N) and sigma are released (logs, metrics, exports)
# and are exact functions of N, so they would tell add/remove neighbours (N vs N - 1) apart.
# Under zero-out adjacency N is fixed; with Poisson sampling an empty unit that is sampled adds
# nothing to the clipped sum, so the mechanism on D' equals that on D without the unit and the
# PLD is add/remove-one's, unchanged.
NEIGHBOURING_RELATION = (
    "zero-out: one private unit replaced by an empty one, N fixed and public (the same "
    "privacy loss as add/remove-one with N public, under Poisson sampling)"
)
NOT_COVERED = (
    "Not covered: the validation split (its metrics and skeleton images are computed without DP), "
    "the public set (the PDP/GEP basis, the public fine-tuning stage, the clean public gradient "
    "of --public_mix) and the public pretrained model, MODEL_DIR/private/ (the key and "
    "non-DP diagnostics of private batches), and privacy spent across runs (e.g. tuning "
    "hyperparameters on the private data)."
)


@dataclasses.dataclass
class PrivacyPlan:
    num_examples: int  # private N (public examples excluded)
    sampling_rate: float
    steps: int  # planned
    epsilon: float  # target
    delta: float
    noise_multiplier: float
    l2_norm_clip: float
    accountant: str = "pld"
    unit: str = UNIT_OF_PRIVACY  # what one of the N private units is

    def dp_event(self, steps=None):
        """The dp_accounting event of `steps` (default: the planned) training steps."""
        return dp_accounting.SelfComposedDpEvent(
            accounting.step_event(self.sampling_rate, self.noise_multiplier),
            self.steps if steps is None else steps,
        )

    def epsilon_after(self, steps, kind=None, after=()):
        """eps of `steps` steps of this plan, after the (q, sigma, steps) segments `after`."""
        return accounting.epsilon_spent(
            [*after, (self.sampling_rate, self.noise_multiplier, steps)],
            self.delta,
            kind or self.accountant,
            self.epsilon,
        )

    def budget_steps(self, total_steps, after=()):
        """Largest step count <= total_steps whose epsilon, after the segments already charged
        (`after`), stays within the target (a run that resumes with more --epochs keeps its
        sigma and stops there)."""
        total_steps = max(0, total_steps)

        def within(steps):
            return self.epsilon_after(steps, after=after) <= self.epsilon * (1 + 1e-6)

        if within(total_steps):
            return total_steps
        lo, hi = 0, total_steps
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if within(mid):
                lo = mid
            else:
                hi = mid - 1
        return lo

    def to_json(self):
        return {
            **dataclasses.asdict(self),
            "unit_of_privacy": self.unit,
            "neighbouring_relation": NEIGHBOURING_RELATION,
        }

    @classmethod
    def from_json(cls, data):
        fields = {k: v for k, v in data.items() if k != "neighbouring_relation"}
        fields["unit"] = fields.pop("unit_of_privacy", UNIT_OF_PRIVACY)
        return cls(**fields)

    def statement(
        self, steps_done, epsilon_spent, projection="none", public_noise=False, start=None
    ):
        """Human-readable privacy statement (text summary at start and end, final metrics).

        `start`: where the model came from (e.g. "initialised from public model X").
        """
        if public_noise:
            guarantee = (
                "NO DP GUARANTEE: the noise and the Poisson sampling were derived from the "
                "public --seed (--reproducible_noise), so anyone with the seed can remove the "
                f"noise; the accountant's figure ({epsilon_spent:.4f}, {self.delta:.3g}) would "
                "hold only for secret randomness."
            )
        else:
            target = f" (target eps {self.epsilon:g})" if self.epsilon is not None else ""
            guarantee = (
                f"Guarantee: ({epsilon_spent:.4f}, {self.delta:.3g})-DP{target}, noise and "
                "sampling from a secret per-run key (OS CSPRNG)."
            )
        image_unit = self.unit == UNIT_OF_PRIVACY
        per, counted = ("image", "training images") if image_unit else ("unit", "units")
        return (
            f"Unit of privacy: {self.unit}, of the N={self.num_examples} private "
            f"{counted}. Neighbouring data sets: {NEIGHBOURING_RELATION}. "
            f"Mechanism: {_mechanism(self.l2_norm_clip, self.noise_multiplier, projection, per)}. "
            f"Sampling: Poisson, q={self.sampling_rate:.6g}, noise normalised by the expected "
            "batch "
            f"size qN={self.sampling_rate * self.num_examples:g}. "
            f"Accountant: {self.accountant.upper()} (dp_accounting). "
            f"Steps: {steps_done} of {self.steps} planned. {guarantee} "
            + (f"Start: {start}. " if start else "")
            + NOT_COVERED
        )


def _mechanism(clip, sigma, projection, per="image"):
    if projection == "gep":
        return (
            f"GEP (per-example gradients split in a public basis; coordinates clipped to "
            f"C={clip:g}, residuals to C2, each part's sum noised with std sqrt(2)*sigma*C_part: "
            f"the Gaussian mechanism of DP-SGD with sigma={sigma:.4f})"
        )
    return (
        f"DP-SGD (Gaussian sum query: per-{per} L2 clip C={clip:g}, noise std sigma*C on the "
        f"clipped sum, sigma={sigma:.4f}), projection={projection} (post-processing)"
    )


def make_plan(
    num_examples,
    batch_size,
    steps,
    epsilon=None,
    delta=None,
    l2_norm_clip=1.0,
    accountant="pld",
    noise_multiplier=None,
    unit=UNIT_OF_PRIVACY,
):
    """Validates the settings and calibrates sigma for `epsilon` (or takes `noise_multiplier`).
    `unit`: what one of the `num_examples` private units is (the statement names it).

    Raises accounting.PrivacyConfigError with a message that says what to change.
    """
    if delta is None:
        delta = accounting.default_delta(num_examples)
    accounting.check_delta(delta, num_examples)
    if not 0 < batch_size <= num_examples:
        raise accounting.PrivacyConfigError(
            f"--batch_size={batch_size} must be in [1, N={num_examples}] (the private images)"
        )
    q = batch_size / num_examples
    if noise_multiplier is None:
        if epsilon is None or not epsilon > 0:
            raise accounting.PrivacyConfigError(
                f"--epsilon={epsilon} must be > 0 (smaller is more private); "
                "use --nonprivate for a non-private baseline"
            )
        noise_multiplier = accounting.calibrate_noise_multiplier(
            q, steps, epsilon, delta, accountant
        )
    elif not noise_multiplier > 0:
        raise accounting.PrivacyConfigError(f"--noise_multiplier={noise_multiplier} must be > 0")
    return PrivacyPlan(
        num_examples, q, steps, epsilon, delta, noise_multiplier, l2_norm_clip, accountant, unit
    )
