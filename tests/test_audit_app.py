"""Canaries in a tiny run: every slot counted in N, coins only under private/, the audit app
end to end."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfpose_dp.privacy.dp_key import DPKey
from tfpose_dp.training import trainer

pytestmark = pytest.mark.slow  # trains a model
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_canaries_are_private_records_and_the_audit_reports_its_bound(run_config, tmp_path):
    model_dir = tmp_path / "run"
    final = trainer.run(
        run_config(
            model_dir,
            audit_canaries=30,
            max_steps=4,
            optimizer="adam",
            learning_rate=0.01,
        )
    )
    key = DPKey.load(str(model_dir / "private" / "dp_key"))
    coins = key.audit_coins(30)
    # Every canary slot counts in N, included or not: N, q and delta do not reveal the coins.
    assert final["num_private_examples"] == 150 and 0 < coins.sum() < 30
    assert final["data"].endswith("+ up to 30 audit canaries (each by a secret coin)")
    out = subprocess.run(
        [sys.executable, "-m", "tfpose_dp.audit", f"--checkpoint={model_dir}", "--members=40"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    printed = json.loads(out.stdout.strip().splitlines()[-1])
    for key_name in ("claimed_epsilon", "delta", "empirical_epsilon_lower_bound", "guesses"):
        assert key_name in printed
    assert printed["claimed_epsilon"] == pytest.approx(final["epsilon"])
    # Membership inference on private data and the included count: private/audit.json only.
    assert not [k for k in printed if k.startswith("mia_") or k == "canaries_included"]
    assert "mia_auc" not in out.stderr and "canaries_included" not in out.stderr
    with open(model_dir / "private" / "audit.json") as f:
        result = json.load(f)
    assert 0 <= result["mia_auc"] <= 1 and result["canaries_included"] == int(coins.sum())
    # Which canaries were trained on (the coins) is written nowhere outside private/.
    included = json.dumps([int(i) for i in np.flatnonzero(coins)])
    for root, _, files in os.walk(model_dir):
        if os.sep + "private" in root:
            continue
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                assert included.encode() not in f.read()


def test_auditing_a_run_without_canaries_is_a_clear_error(run_config, tmp_path):
    model_dir = tmp_path / "plain"
    trainer.run(run_config(model_dir, nonprivate=True, max_steps=1))
    out = subprocess.run(
        [sys.executable, "-m", "tfpose_dp.audit", f"--checkpoint={model_dir}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 2 and "without --audit_canaries" in out.stderr
