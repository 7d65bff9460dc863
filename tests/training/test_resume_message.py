"""A resumed non-private run (whose ledger records eps = inf) says NON-PRIVATE (as its progress
lines do), not "eps spent so far inf" (the DP run's resume line: tests/test_train_app.py)."""

import logging

import pytest

from tfpose_dp.training import trainer

pytestmark = pytest.mark.slow  # end-to-end: trains a real model


def test_a_resumed_nonprivate_run_says_nonprivate(run_config, tmp_path, caplog):
    trainer.run(run_config(tmp_path, nonprivate=True, max_steps=1))
    # On the absl logger itself: a SavedModel export earlier in the same process (TF's
    # AutoTrackable) leaves absl's verbosity at WARNING, which would drop the INFO line.
    with caplog.at_level(logging.INFO, logger="absl"):
        trainer.run(run_config(tmp_path, nonprivate=True, max_steps=2))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Resuming from")]
    assert len(lines) == 1 and lines[0].endswith("at step 1 (NON-PRIVATE)"), lines
