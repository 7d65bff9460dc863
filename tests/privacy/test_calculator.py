import json
import subprocess
import sys

import pytest

from tfpose_dp.privacy import accounting


def _calc(*args):
    return subprocess.run(
        [sys.executable, "-m", "tfpose_dp.privacy", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_calibration_prints_one_json_object_meeting_the_target():
    out = _calc(
        "--num_examples=22246", "--batch_size=32", "--epochs=25", "--epsilon=0.2", "--delta=4e-5"
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for key in (
        "noise_multiplier",
        "epsilon_pld",
        "epsilon_rdp",
        "delta",
        "sampling_rate",
        "steps",
    ):
        assert key in result
    assert result["steps"] == 25 * round(22246 / 32)  # = the trainer's plan: 25 epochs of 695 steps
    assert 0.198 <= result["epsilon_pld"] <= 0.2


def test_reverse_mode_reports_epsilon_for_a_given_sigma():
    out = _calc("--num_examples=1000", "--batch_size=10", "--epochs=2", "--noise_multiplier=1.5")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    expected = accounting.epsilon_spent([(0.01, 1.5, 200)], 1e-4)
    assert result["epsilon_pld"] == pytest.approx(expected)


def test_bad_delta_is_refused():
    out = _calc("--num_examples=1000", "--epsilon=1", "--delta=0.01")
    assert out.returncode != 0 and "1/N" in out.stderr
