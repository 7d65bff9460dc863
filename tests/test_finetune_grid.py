"""tools/finetune_grid.py: the commands of each cell (plain methods without a public stage,
whatever the flagfile says; *_stage methods with --stage_args and their own extra flags)."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_stage_methods_add_the_stage_and_plain_methods_turn_it_off(tmp_path):
    args = [
        sys.executable,
        "tools/finetune_grid.py",
        "--public_model=preset:public_micro",
        f"--output_root={tmp_path}",
        "--methods=dpsgd,pdp_stage",
        "--epsilons=0.2",
        "--seeds=0",
        "--pdp_stage_args=--public_mix=constant:0.3",
        "--dry_run",
    ]
    out = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    plain, staged = (tmp_path / "commands.txt").read_text().splitlines()
    assert "dpsgd_eps0.2_seed0" in plain and "--public_finetune_steps=0" in plain
    assert plain.count("--public_finetune_steps") == 1 and "--projection=none" in plain
    assert "--public_mix=none" in plain
    assert "--projection=pdp" in staged and "--public_finetune_steps=250" in staged
    assert "--public_finetune_steps=0" not in staged
    assert staged.endswith("--public_mix=constant:0.3")


def test_a_rerun_cell_keeps_the_log_of_its_interrupted_part(tmp_path):
    """An interrupted cell resumes from its checkpoint on the grid's re-run: its log is
    appended to, so the first part (e.g. the public stage's lines) is not lost."""
    log = tmp_path / "dpsgd_eps0.2_seed0.log"
    log.write_text("first part of the run\n")
    args = [
        sys.executable,
        "tools/finetune_grid.py",
        "--public_model=preset:public_micro",
        f"--flagfile_base={tmp_path / 'missing.cfg'}",  # the run fails at once
        f"--output_root={tmp_path}",
        "--methods=dpsgd",
        "--epsilons=0.2",
        "--seeds=0",
    ]
    out = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "FAILED" in out.stdout
    first, started, *rest = log.read_text().splitlines()
    assert first == "first part of the run"
    assert started.startswith("# ") and "--model_dir=" in started  # where the re-run begins
    assert any("missing.cfg" in line for line in rest)
