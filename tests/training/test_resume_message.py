"""What a resumed run says about the budget it has spent: eps for a DP run; a non-private run
(whose ledger records eps = inf) says it is non-private instead of "eps spent so far inf"."""

import logging

import pytest

from tfpose_dp.training import trainer

pytestmark = pytest.mark.slow  # end-to-end: trains real models


def _resume_line(caplog):
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Resuming from")]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("nonprivate", [False, True])
def test_the_resume_line_says_the_spent_budget_or_non_private(
    nonprivate, run_config, tmp_path, caplog
):
    trainer.run(run_config(tmp_path, nonprivate=nonprivate, max_steps=1))
    with caplog.at_level(logging.INFO):
        trainer.run(run_config(tmp_path, nonprivate=nonprivate, max_steps=2))
    line = _resume_line(caplog)
    assert "at step 1" in line and "inf" not in line
    if nonprivate:
        assert line.endswith("(non-private)")
    else:
        spent = float(line.rsplit("eps spent so far ", 1)[1].rstrip(")"))
        assert 0 < spent < 4.0
