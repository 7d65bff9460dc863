"""What a DP-SGD training plan costs: sigma for a target eps, or eps for a given sigma.

One rule for every caller: the calculator app (`python -m tfpose_dp.privacy`), the Python API
(`tfpose_dp.privacy.plan`) and the Keras callback (`PrivacyCallback`) give the same numbers for
the same (N, B, epochs, sigma, delta). Steps are `sampling.planned_steps`: round(N / B) per
epoch, each a Poisson draw with q = B / N (privacy/poisson_batches.py for Keras data).

>>> p = plan(num_examples=1000, batch_size=10, epochs=2, noise_multiplier=1.5)
>>> p.steps, p.sampling_rate, round(p.epsilon, 2)
(200, 0.01, 0.32)
"""

import dataclasses

from tfpose_dp.privacy import accounting, sampling
from tfpose_dp.privacy.plan import make_plan

EXAMPLE_UNIT = "one example (one element of the training data set)"


@dataclasses.dataclass(frozen=True)
class TrainingPlan:
    """A calibrated plan: pass `noise_multiplier` to the optimizer, `statement` to your users."""

    num_examples: int
    batch_size: int
    epochs: float
    steps: int
    sampling_rate: float
    noise_multiplier: float
    delta: float
    epsilon: float  # PLD accountant (the one the trainer reports)
    epsilon_rdp: float
    statement: str

    def to_json(self):
        out = dataclasses.asdict(self)
        out["epsilon_pld"] = out.pop("epsilon")
        return {**out, "sampling": "poisson"}


def epsilon_after(num_examples, batch_size, noise_multiplier, steps, delta, kind="pld", hint=None):
    """eps after `steps` Poisson-sampled steps (q = B / N) with noise multiplier sigma."""
    segment = [(batch_size / num_examples, noise_multiplier, steps)]
    return accounting.epsilon_spent(segment, delta, kind, hint or 1.0)


def plan(
    num_examples,
    batch_size,
    epochs,
    epsilon=None,
    delta=None,
    noise_multiplier=None,
    unit=EXAMPLE_UNIT,
):
    """Calibrates sigma for `epsilon` (or reports the eps of a given `noise_multiplier`).

    Raises accounting.PrivacyConfigError (a ValueError) with a message that says what to change.
    """
    if (epsilon is None) == (noise_multiplier is None):
        raise accounting.PrivacyConfigError("give exactly one of epsilon or noise_multiplier")
    batch_size = min(batch_size, num_examples)
    steps = sampling.planned_steps(num_examples, batch_size, epochs)
    p = make_plan(
        num_examples,
        batch_size,
        steps,
        epsilon,
        delta,
        noise_multiplier=noise_multiplier,
        unit=unit,
    )
    spent = epsilon_after(
        num_examples, batch_size, p.noise_multiplier, steps, p.delta, hint=epsilon
    )
    rdp = epsilon_after(num_examples, batch_size, p.noise_multiplier, steps, p.delta, "rdp")
    return TrainingPlan(
        num_examples,
        batch_size,
        epochs,
        steps,
        p.sampling_rate,
        p.noise_multiplier,
        p.delta,
        spent,
        rdp,
        _statement(p, steps, spent, unit),
    )


def _statement(p, steps, spent, unit):
    return (
        f"({spent:.4f}, {p.delta:.3g})-DP for {unit}, N={p.num_examples}: DP-SGD, each "
        f"example's gradient clipped, Gaussian noise with sigma={p.noise_multiplier:.4f} times "
        f"the clip on the sum, {steps} steps of Poisson sampling with q={p.sampling_rate:.6g}, "
        "the sum divided by the expected batch size; PLD accountant (dp_accounting). It holds "
        "only if the noise and the sampling are secret (PoseDPSGD/PoseDPAdam and "
        "poisson_batches draw them from the OS). Not covered: anything else computed from the "
        "same data (validation metrics, the training loss a step reports, hyperparameters tuned "
        "on it) and privacy spent across runs."
    )
