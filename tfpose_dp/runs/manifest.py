"""A run's manifest: its whole configuration (as resolved when it started: the norm actually
used, delta, the absolute --init_from path), the private example count, a description of its
data and its privacy plan. Saved with every checkpoint, read back whole by whatever restores
the run (evaluate, predict, export, --init_from, resume)."""

import dataclasses
from typing import Optional

from tfpose_dp.run_config import RunConfig


class ManifestError(ValueError):
    """A checkpoint without a manifest (written by an older version) or with a broken one."""


@dataclasses.dataclass
class Manifest:
    config: RunConfig
    num_private_examples: int
    data_description: str
    plan: Optional[dict] = None  # privacy.plan.PrivacyPlan.to_json(); None for a non-private run
    start: Optional[dict] = None  # the --init_from model's own record (runs/restore.py)
    public_set: Optional[str] = None  # where the public set came from (none: None)

    def to_json(self):
        return {
            "config": self.config.to_json(),
            "num_private_examples": self.num_private_examples,
            "data_description": self.data_description,
            "plan": self.plan,
            "start": self.start,
            "public_set": self.public_set,
        }

    @classmethod
    def from_state(cls, state, where="checkpoint"):
        """The manifest inside a checkpoint's state.json dict."""
        data = state.get("manifest")
        if not data:
            raise ManifestError(
                f"{where} has no run manifest: it was written by an older tfpose_dp; "
                "train it again (or start a new --model_dir)"
            )
        return cls(
            RunConfig.from_json(data["config"]),
            int(data["num_private_examples"]),
            data.get("data_description", ""),
            data.get("plan"),
            data.get("start"),
            data.get("public_set"),
        )
