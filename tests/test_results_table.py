import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_dir(root, name, **metrics):
    path = root / name
    path.mkdir()
    (path / "final_metrics.json").write_text(json.dumps(metrics))


def test_table_and_plot_from_finished_runs(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    _run_dir(runs, "pdp02", method="pdp", epsilon=0.199, epsilon_target=0.2, delta=1e-5,
             noise_multiplier=3.1, **{"pckh@0.5": 70.0, "pckh@0.1": 20.0})
    _run_dir(runs, "dp02", method="dpsgd", epsilon=0.198, epsilon_target=0.2, delta=1e-5,
             noise_multiplier=3.1, **{"pckh@0.5": 60.0, "pckh@0.1": 15.0})
    _run_dir(runs, "np", method="nonprivate", epsilon=None, epsilon_target=None, delta=None,
             noise_multiplier=None, **{"pckh@0.5": 85.0, "pckh@0.1": 30.0})
    (runs / "unfinished").mkdir()
    md, png = tmp_path / "r.md", tmp_path / "r.png"
    out = subprocess.run([sys.executable, "tools/results_table.py", f"--runs={runs}/*",
                          f"--output_md={md}", f"--output_png={png}"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    table = md.read_text().splitlines()
    assert len(table) == 2 + 3
    assert "| pdp02 | pdp | 0.2 | 0.199 | 1e-05 | 3.100 | 70.00 | 20.00 |" in table
    assert png.stat().st_size > 1000
