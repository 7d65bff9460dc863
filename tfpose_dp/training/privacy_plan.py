"""The privacy plan of a run: N, q, steps, delta, calibrated sigma, and its statement.

Everything here is public configuration; nothing depends on private data values.
"""
import dataclasses

from tfpose_dp.privacy import accounting


@dataclasses.dataclass
class PrivacyPlan:
    num_examples: int  # private N (public examples excluded)
    sampling_rate: float
    steps: int
    epsilon: float  # target
    delta: float
    noise_multiplier: float
    l2_norm_clip: float
    accountant: str = "pld"

    def epsilon_after(self, steps, kind=None):
        return accounting.epsilon_spent([(self.sampling_rate, self.noise_multiplier, steps)],
                                        self.delta, kind or self.accountant, self.epsilon)

    def statement(self, steps_done, epsilon_spent, projection="none", public_noise=False, start=None):
        """Human-readable privacy statement (text summary at start and end, final metrics).

        `start`: where the model came from (e.g. "initialised from public model X").
        """
        if public_noise:
            guarantee = ("NO DP GUARANTEE: the noise and the Poisson sampling were derived from the "
                         "public --seed (--reproducible_noise), so anyone with the seed can remove the "
                         f"noise; the accountant's figure ({epsilon_spent:.4f}, {self.delta:.3g}) would "
                         "hold only for secret randomness.")
        else:
            guarantee = (f"Guarantee: ({epsilon_spent:.4f}, {self.delta:.3g})-DP (target eps "
                         f"{self.epsilon:g}), noise and sampling from a secret per-run key (OS CSPRNG).")
        return (
            f"Unit of privacy: one person record of the N={self.num_examples} private training "
            "records (add/remove-one adjacency). "
            f"Mechanism: DP-SGD (Gaussian sum query: per-example L2 clip C={self.l2_norm_clip:g}, "
            f"noise std sigma*C on the clipped sum, sigma={self.noise_multiplier:.4f}), "
            f"projection={projection} (post-processing). "
            f"Sampling: Poisson, q={self.sampling_rate:.6g}, noise normalised by the expected batch "
            f"size qN={self.sampling_rate * self.num_examples:g}. "
            f"Accountant: {self.accountant.upper()} (dp_accounting). "
            f"Steps: {steps_done} of {self.steps} planned. {guarantee} "
            + (f"Start: {start}. " if start else "") + NOT_COVERED)


NOT_COVERED = (
    "Not covered: the validation split (its metrics and skeleton images are computed without DP), "
    "the public set (PDP basis) and the public pretrained model, MODEL_DIR/private/ (the key and "
    "non-DP diagnostics of private batches), and privacy spent across runs (e.g. tuning "
    "hyperparameters on the private data).")


def make_plan(num_examples, batch_size, steps, epsilon, delta, l2_norm_clip, accountant="pld"):
    """Validates the target and calibrates sigma. Raises accounting.PrivacyConfigError."""
    if delta is None:
        delta = accounting.default_delta(num_examples)
    accounting.check_delta(delta, num_examples)
    if not epsilon > 0:
        raise accounting.PrivacyConfigError(
            f"--epsilon={epsilon} must be > 0 (smaller is more private); "
            "use --nonprivate for a non-private baseline")
    if batch_size > num_examples:
        raise accounting.PrivacyConfigError(
            f"--batch_size={batch_size} exceeds the N={num_examples} private examples")
    q = batch_size / num_examples
    sigma = accounting.calibrate_noise_multiplier(q, steps, epsilon, delta, accountant)
    return PrivacyPlan(num_examples, q, steps, epsilon, delta, sigma, l2_norm_clip, accountant)
