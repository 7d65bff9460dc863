"""Rewinding to an earlier checkpoint never releases the same noise twice, and the steps it
discards stay charged (issue: noise replay cancels in the difference of two trajectories)."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.privacy import accounting
from tfpose_dp.runs import checkpoints
from tfpose_dp.training import trainer
from tfpose_dp.training.release_record import ReleaseRecordError

pytestmark = pytest.mark.slow  # trains a model


def _weights(ckpt):
    reader = tf.train.load_checkpoint(os.path.join(ckpt, "ckpt"))
    names = sorted(n for n in reader.get_variable_to_shape_map() if n.startswith("model/"))
    return [reader.get_tensor(n) for n in names]


def _rewind(model_dir, step):
    with open(os.path.join(checkpoints.checkpoint_root(model_dir), "latest"), "w") as f:
        f.write(f"ckpt-{step:08d}")


def _released(model_dir):
    with open(os.path.join(model_dir, "private", "releases.json")) as f:
        record = json.load(f)
    return record["generation"], record["released"]


def _ledger(model_dir):
    state = checkpoints.read_state(checkpoints.latest_checkpoint(model_dir))
    return accounting.PrivacyLedger.from_json(state["ledger"])


def test_a_rewound_run_draws_fresh_noise_and_charges_the_discarded_steps(run_config, tmp_path):
    model_dir = str(tmp_path / "run")
    trainer.run(run_config(model_dir, max_steps=1))
    trainer.run(run_config(model_dir, max_steps=3))  # resumes at 1: nothing discarded
    first = _weights(checkpoints.latest_checkpoint(model_dir))
    assert _ledger(model_dir).steps == 3 and _ledger(model_dir).discarded == 0
    assert _released(model_dir) == (0, 3)

    # Without the release record (what replayed steps 1-2 exactly before) a start is refused.
    replay_dir = str(tmp_path / "replay")
    shutil.copytree(model_dir, replay_dir)
    os.remove(os.path.join(replay_dir, "private", "releases.json"))
    _rewind(replay_dir, 1)
    with pytest.raises(ReleaseRecordError, match="releases.json is missing"):
        trainer.run(run_config(replay_dir, max_steps=3))

    _rewind(model_dir, 1)
    final = trainer.run(run_config(model_dir, max_steps=3))
    rerun = _weights(checkpoints.latest_checkpoint(model_dir))
    assert any(not np.allclose(a, b, atol=1e-6) for a, b in zip(first, rerun))
    ledger = _ledger(model_dir)
    assert (ledger.steps, ledger.discarded, ledger.trained_steps) == (5, 2, 3)
    assert _released(model_dir) == (1, 5)
    expected = accounting.epsilon_spent(ledger.segments, final["delta"], "pld", 4.0)
    assert final["epsilon"] == pytest.approx(expected, rel=1e-9)
    assert final["epsilon"] > accounting.epsilon_spent(
        [ledger.segments[0][:2] + [3]], final["delta"], "pld", 4.0
    )


def test_a_crash_after_the_checkpoint_is_charged_and_the_budget_still_holds(run_config, tmp_path):
    """Steps released after the last checkpoint (the process died before the next one) are
    charged on restart, and the run ends early enough that eps stays within its target."""
    model_dir = str(tmp_path / "run")
    trainer.run(run_config(model_dir, max_steps=2))
    path = os.path.join(model_dir, "private", "releases.json")
    with open(path) as f:
        record = json.load(f)
    record["released"] += 3  # as if 3 more steps ran, then the process was killed
    record["segments"][-1][2] += 3
    with open(path, "w") as f:
        json.dump(record, f)
    final = trainer.run(run_config(model_dir, max_steps=0))  # all 8 planned steps (eps=4)
    ledger = _ledger(model_dir)
    assert (ledger.discarded, ledger.steps) == (3, 8)
    assert final["steps"] == ledger.trained_steps == 5
    assert final["epsilon"] <= 4.0 * (1 + 1e-6)
