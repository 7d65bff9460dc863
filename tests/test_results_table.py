import functools
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_dir(root, name, **metrics):
    path = root / name
    path.mkdir()
    (path / "final_metrics.json").write_text(json.dumps(metrics))


def _table(runs, tmp_path):
    """(Markdown lines, PNG path) written by the tool for the runs under `runs`."""
    md, png = tmp_path / "r.md", tmp_path / "r.png"
    args = [
        sys.executable,
        "tools/results_table.py",
        f"--runs={runs}/*",
        f"--output_md={md}",
        f"--output_png={png}",
    ]
    out = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return md.read_text().splitlines(), png


def test_cells_are_mean_and_sd_over_seeds_and_the_plot_is_drawn(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    for seed, (pdp, dp) in enumerate(((70.0, 60.0), (72.0, 61.0), (74.0, 65.0))):
        common = dict(
            epsilon_target=0.2,
            delta=1e-5,
            noise_multiplier=3.1,
            seed=seed,
            **{"start_pckh@0.5": 50.0},
        )
        _run_dir(
            runs,
            f"pdp_{seed}",
            method="pdp",
            epsilon=0.199,
            **common,
            **{"pckh@0.5": pdp, "pckh@0.1": 20.0},
        )
        _run_dir(
            runs,
            f"dp_{seed}",
            method="dpsgd",
            epsilon=0.198,
            **common,
            **{"pckh@0.5": dp, "pckh@0.1": 15.0},
        )
    _run_dir(
        runs,
        "np",
        method="nonprivate",
        epsilon=None,
        epsilon_target=None,
        seed=0,
        **{"pckh@0.5": 85.0, "pckh@0.1": 30.0, "start_pckh@0.5": 50.0},
    )
    (runs / "unfinished").mkdir()
    table, png = _table(runs, tmp_path)
    assert "| starting model (no fine-tuning) | - | - | 1 | 50.00 | - | - |" in table
    assert "| PDP-SGD | 0.2 | 0.199 | 3 (0,1,2) | 72.00 +- 2.00 | 20.00 +- 0.00 | +22.00 |" in table
    nonprivate = "| non-private | - | - | 1 (0) | 85.00 +- 0.00 | 30.00 +- 0.00 | +35.00 |"
    assert table.index(nonprivate) == 3
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_audited_runs_add_the_audit_columns(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    metrics = dict(
        method="dpsgd",
        epsilon=0.99,
        epsilon_target=1.0,
        seed=0,
        **{"pckh@0.5": 50.0, "pckh@0.1": 9.0},
    )
    _run_dir(runs, "dp", **metrics)
    (runs / "dp" / "private").mkdir()
    audit = {"empirical_epsilon_lower_bound": 0.25, "mia_auc": 0.51, "mia_tpr_at_1pct_fpr": 0.02}
    (runs / "dp" / "private" / "audit.json").write_text(json.dumps(audit))
    table, png = _table(runs, tmp_path)
    assert "MIA AUC" in table[0]
    assert table[2].endswith("| 0.25 +- 0.00 | 0.51 +- 0.00 | 0.02 +- 0.00 |")


def test_the_public_data_alone_is_a_row_and_the_bar_of_every_gain(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    for seed, (alone, private) in enumerate(((54.0, 58.0), (52.0, 59.0), (56.0, 60.0))):
        common = dict(epsilon_target=0.2, epsilon=0.2, seed=seed, **{"start_pckh@0.5": 38.0})
        _run_dir(
            runs,
            f"stage_{seed}",
            method="dpsgd",
            public_finetune_steps=250,
            public_mix="cosine",
            **common,
            **{"pckh@0.5": private, "pckh@0.1": 7.0, "public_stage_pckh@0.5": alone},
        )
        _run_dir(
            runs, f"dp_{seed}", method="dpsgd", **common, **{"pckh@0.5": 50.0, "pckh@0.1": 5.0}
        )
    table, _ = _table(runs, tmp_path)
    alone = "| public data alone (non-private, the public set only) | - | - | 3 | 54.00 +- 2.00 |"
    assert f"{alone} - | - |" in table
    stage = "DP-SGD after the public stage, public mix cosine | 0.2 | 0.200 | 3 (0,1,2) |"
    assert f"| {stage} 59.00 +- 1.00 | 7.00 +- 0.00 | +5.00 |" in table
    assert "| DP-SGD | 0.2 | 0.200 | 3 (0,1,2) | 50.00 +- 0.00 | 5.00 +- 0.00 | -4.00 |" in table


@functools.cache
def _results_table_module():
    """The tool as a module, loaded once (its absl flags may be defined only once)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "results_table", os.path.join(REPO, "tools", "results_table.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_pipelines_label_names_its_stage_and_its_public_mix():
    label = _results_table_module().method_label
    assert label("dpsgd") == "DP-SGD"
    assert label("dpsgd+stage") == "DP-SGD after the public stage"
    assert label("pdp+stage+mix:constant:0.3") == "PDP-SGD after the public stage, public mix 0.3"
    assert label("gep+mix:cosine") == "GEP, public mix cosine"


def test_recorded_cells_are_plotted_with_their_reference_lines(tmp_path):
    cells = tmp_path / "cells.csv"
    cells.write_text(
        "# a recorded grid\n"
        "method,label,epsilon,mean,sd\n"
        "dpsgd,,0.2,48.95,0.56\n"
        "dpsgd,,1,55.01,0.92\n"
        "dpsgd+stage,,0.2,57.02,0.93\n"
        'public_alone,"public data alone",,51.93,2.49\n'
        "start,public model,,38.30,\n"
    )
    results_table = _results_table_module()
    lines, references = results_table.read_cells(str(cells))
    assert lines == {
        "dpsgd": [(0.2, 48.95, 0.56), (1.0, 55.01, 0.92)],
        "dpsgd+stage": [(0.2, 57.02, 0.93)],
    }
    assert references == [
        ("public_alone", "public data alone", 51.93, 2.49),
        ("start", "public model", 38.30, 0.0),
    ]
    png = tmp_path / "grid.png"
    args = [sys.executable, "tools/results_table.py", f"--cells_csv={cells}", f"--output_png={png}"]
    out = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert png.stat().st_size > 10_000


def test_tied_methods_are_drawn_side_by_side_around_their_epsilon():
    dodged = _results_table_module().dodged
    left, middle, right = (dodged([0.2, 1.0], i, 3) for i in range(3))
    assert middle == [0.2, 1.0]  # an odd count keeps the middle line on its eps
    assert left[0] < 0.2 < right[0] and left[1] < 1.0 < right[1]
    assert 0.9 < left[0] / 0.2 and right[1] / 1.0 < 1.1  # beside its eps, not at another one
    two = [dodged([8.0], i, 2)[0] for i in range(2)]
    assert two[0] < 8.0 < two[1] and abs(two[0] * two[1] - 64.0) < 1e-9  # centred on the log axis
