"""A GEP run trains, states its mechanism and keeps the DP-SGD ledger for the private N."""

import numpy as np
import pytest

from tfpose_dp.privacy import accounting
from tfpose_dp.training import trainer

pytestmark = pytest.mark.slow  # trains a model


def test_gep_run_keeps_the_dp_sgd_ledger(run_config, tmp_path):
    final = trainer.run(
        run_config(
            tmp_path / "gep",
            projection="gep",
            projection_dim=4,
            public_examples=8,
            max_steps=2,
            basis_refresh_steps=1,
        )
    )
    n = final["num_private_examples"]  # whole held-out images (>= 8 persons) leave the 120
    assert final["method"] == "gep" and n <= 112
    assert "GEP (per-example gradients split" in final["privacy_statement"]
    expected = accounting.epsilon_spent(
        [(16 / n, final["noise_multiplier"], 2)], final["delta"], "pld", 4.0
    )
    assert final["epsilon"] == pytest.approx(expected, rel=1e-9)
    assert np.isfinite(final["pckh@0.5"])
