import json
import os
import subprocess
import sys

import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _pdp_run(path, every, fresh, previous, seconds):
    """Event files as the trainer writes them: one refresh every `every` steps."""
    writer = tf.summary.create_file_writer(str(path))
    with writer.as_default():
        for i, (f, s) in enumerate(zip(fresh, seconds)):
            tf.summary.scalar("pdp/public_energy_share", f, step=i * every)
            tf.summary.scalar("pdp/refresh_seconds", s, step=i * every)
            if i > 0:
                tf.summary.scalar("pdp/previous_basis_share", previous[i - 1], step=i * every)
    writer.close()


def _table(runs_root):
    return subprocess.run(
        [sys.executable, "tools/refresh_table.py", f"--runs={runs_root}/*"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_table_reports_what_an_s_step_old_basis_keeps(tmp_path):
    _pdp_run(tmp_path / "s10", 10, [0.6, 0.5, 0.4], [0.45, 0.2], [30.0, 2.0, 4.0])
    _pdp_run(tmp_path / "one_refresh", 10, [0.6], [], [30.0])  # nothing to compare: left out
    out = _table(tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 1 and rows[0]["run"].endswith("s10")
    row = rows[0]
    assert row["refresh_steps"] == 10 and row["refreshes"] == 3
    assert abs(row["kept_of_fresh"] - (0.45 / 0.5 + 0.2 / 0.4) / 2) < 1e-6
    assert abs(row["kept_of_fresh_min"] - 0.5) < 1e-6
    assert row["refresh_seconds"] == 3.0  # median without the first (tracing) refresh
    assert "| s10 | 10 | 3 | 50.0 % | 32.5 % | 70.0 % (50.0 %) |" in out.stdout


def test_no_pdp_run_is_a_clear_error(tmp_path):
    out = _table(tmp_path)
    assert out.returncode != 0 and "no PDP run with two or more refreshes" in out.stderr
