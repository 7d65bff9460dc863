"""Canaries in a tiny run: counted in N, coins only under private/, the audit app end to end."""

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
            nonprivate=True,
            audit_canaries=30,
            max_steps=4,
            optimizer="adam",
            learning_rate=0.01,
        )
    )
    key = DPKey.load(str(model_dir / "private" / "dp_key"))
    coins = key.audit_coins(30)
    assert final["num_private_examples"] == 120 + int(coins.sum())  # included canaries count in N
    out = subprocess.run(
        [sys.executable, "-m", "tfpose_dp.audit", f"--checkpoint={model_dir}", "--members=40"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for key_name in (
        "claimed_epsilon",
        "delta",
        "empirical_epsilon_lower_bound",
        "guesses",
        "correct_guesses",
        "mia_auc",
        "mia_tpr_at_1pct_fpr",
        "mia_tpr_at_0.1pct_fpr",
    ):
        assert key_name in result
    assert result["claimed_epsilon"] is None and 0 <= result["mia_auc"] <= 1
    assert os.path.exists(model_dir / "private" / "audit.json")
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
