"""End-to-end runs of `python -m tfpose_dp.train` on a tiny synthetic set."""

import glob
import json
import os
import re
import subprocess
import sys

import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from tfpose_dp.privacy import accounting

pytestmark = pytest.mark.slow  # end-to-end: trains or exports real models

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(args, synthetic_root, cwd=REPO, plan=False):
    cmd = [
        sys.executable,
        "-m",
        "tfpose_dp.train",
        "--model=tiny_vit_micro",
        "--norm=group",
        "--input_size=64,48",
        "--synthetic_train=120",
        "--synthetic_val=24",
        f"--synthetic_root={synthetic_root}",
        "--batch_size=16",
        "--epochs=1",
        "--epsilon=4",
        "--log_every=2",
        "--physical_batch_size=16",
        "--print_plan" if plan else "--noprint_plan",
    ] + args
    env = {**os.environ, "PYTHONPATH": REPO}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("synthetic_cache"))


def _scalars(log_dir, tag):
    values = []
    for path in glob.glob(os.path.join(log_dir, "events.out.tfevents.*")):
        acc = event_accumulator.EventAccumulator(path, size_guidance={"tensors": 0})
        acc.Reload()
        if tag in acc.Tags()["tensors"]:
            values += [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
    return sorted(values)


def test_dp_run_then_resume_continues_the_same_ledger(tmp_path, synthetic_root):
    model_dir = str(tmp_path / "run")
    first = _run([f"--model_dir={model_dir}", "--max_steps=3"], synthetic_root, plan=True)
    assert first.returncode == 0, first.stderr[-3000:]
    # before its first step a new run says what it will do and how long (the dry run's timing)
    plan = [ln for ln in first.stdout.splitlines() if ln.startswith("Plan: ")]
    assert len(plan) == 1 and "dpsgd steps on 120 private examples at eps 4" in plan[0]
    assert re.search(r"ETA \d+:\d\d:\d\d on this machine", plan[0]), plan
    assert "Over 30 minutes" not in first.stdout
    assert "built-in synthetic people" in first.stderr
    assert "Calibrated noise multiplier" in first.stderr
    with open(os.path.join(model_dir, "final_metrics.json")) as f:
        partial = json.load(f)
    assert partial["steps"] == 3 and 0 < partial["epsilon"] < 4

    second = _run([f"--model_dir={model_dir}"], synthetic_root)
    assert second.returncode == 0, second.stderr[-3000:]
    resumed = [ln for ln in second.stderr.splitlines() if "Resuming from" in ln]
    assert len(resumed) == 1 and "at step 3 (eps spent so far " in resumed[0], resumed
    assert float(resumed[0].rsplit(" ", 1)[1].rstrip(")")) == pytest.approx(
        partial["epsilon"], 1e-3
    )
    # Progress lines say the pace (averaged over the log window) and when the run ends.
    progress = [ln for ln in second.stderr.splitlines() if "| eps " in ln and "s/step" in ln]
    assert progress and all("ETA" in ln and "ex/s" in ln and "ends" in ln for ln in progress)
    with open(os.path.join(model_dir, "final_metrics.json")) as f:
        final = json.load(f)
    assert final["steps"] == final["total_steps"] == 8  # round(120 / 16) steps in one epoch
    assert partial["epsilon"] < final["epsilon"] <= 4.0 * (1 + 1e-6)
    assert final["noise_multiplier"] == partial["noise_multiplier"]
    eps_curve = _scalars(model_dir, "privacy/epsilon")
    assert eps_curve[-1][0] == 8 and eps_curve[-1][1] == pytest.approx(final["epsilon"], rel=1e-6)
    assert [e for _, e in eps_curve] == sorted(e for _, e in eps_curve)
    # Diagnostics of private batches stay under private/, never beside what may be shared.
    assert not _scalars(model_dir, "diagnostics_nonprivate/loss")
    assert _scalars(
        os.path.join(model_dir, "private", "tensorboard"), "diagnostics_nonprivate/loss"
    )
    assert "loss" in open(os.path.join(model_dir, "private", "progress.log")).read()
    assert not [
        ln for ln in first.stderr.splitlines() if "step" in ln and "loss" in ln
    ]  # not printed
    assert "Unit of privacy: one image (all persons in it)" in partial["privacy_statement"]
    assert partial["dp_guarantee"] and "validation split" in partial["not_covered"]
    assert _scalars(model_dir, "val/pckh@0.5")

    # A model trained with the DP optimizer exports without touching the optimizer.
    export_dir = str(tmp_path / "export")
    ex = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfpose_dp.export",
            f"--checkpoint={model_dir}",
            f"--output_dir={export_dir}",
            "--formats=saved_model,tflite",
            "--quantize=none",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ex.returncode == 0, ex.stderr[-3000:]
    assert os.path.exists(os.path.join(export_dir, "pose_float32.tflite"))
    assert os.path.exists(os.path.join(export_dir, "saved_model", "saved_model.pb"))


def test_pdp_run_projects_and_reports_captured_energy(tmp_path, synthetic_root):
    model_dir = str(tmp_path / "pdp")
    out = _run(
        [
            f"--model_dir={model_dir}",
            "--projection=pdp",
            "--projection_dim=8",
            "--public_examples=12",
            "--basis_refresh_steps=4",
        ],
        synthetic_root,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "PDP basis refreshed: rank 8" in out.stderr
    with open(os.path.join(model_dir, "final_metrics.json")) as f:
        final = json.load(f)
    # Whole images are held out by their own draw: every held person leaves the private set,
    # 12 of them form the public set.
    held = int(re.search(r"PDP holdout \(--public_fraction=[\d.]+\): (\d+) persons", out.stderr)[1])
    n = final["num_private_examples"]
    assert final["method"] == "pdp" and held >= 12 and n == 120 - held
    # Projection is post-processing: the ledger is the plain DP-SGD one for the private N.
    assert final["delta"] == pytest.approx(1 / (10 * n))
    assert final["epsilon"] == pytest.approx(
        accounting.epsilon_spent(
            [(16 / n, final["noise_multiplier"], final["steps"])], final["delta"], "pld", 4.0
        ),
        rel=1e-9,
    )
    energy = _scalars(model_dir, "pdp/captured_energy")
    assert energy and all(0.0 <= e <= 1.0 + 1e-5 for _, e in energy)
    # Each refresh reports the public energy share of its basis.
    fresh = dict(_scalars(model_dir, "pdp/public_energy_share"))
    previous = dict(_scalars(model_dir, "pdp/previous_basis_share"))
    assert sorted(fresh) == list(range(0, final["steps"], 4)) and len(fresh) >= 2
    # The old basis's share costs a second pass of public gradients: only with
    # --pdp_diagnostics (tests/training/test_pdp_basis.py checks its value).
    assert not previous


def test_nonprivate_baseline_in_a_fresh_dated_folder_then_evaluate_and_predict(
    tmp_path, synthetic_root
):
    out = _run(["--nonprivate"], synthetic_root, cwd=tmp_path)  # no --model_dir
    assert out.returncode == 0, out.stderr[-3000:]
    assert "NON-PRIVATE" in out.stderr
    run = re.search(r"this run writes to (runs/[\w-]+)", out.stdout).group(1)
    assert re.fullmatch(r"runs/\d{8}-\d{6}", run)
    # a second command in the same second gets its own: tests/runs/test_fresh_run_dir.py
    model_dir = str(tmp_path / run)
    with open(os.path.join(model_dir, "final_metrics.json")) as f:
        final = json.load(f)
    assert final["private"] is False
    tags = []
    for path in glob.glob(os.path.join(model_dir, "events.out.tfevents.*")):
        acc = event_accumulator.EventAccumulator(path, size_guidance={"tensors": 0})
        acc.Reload()
        tags += acc.Tags()["tensors"]
    assert "val/predicted_skeletons" in tags

    table_path = str(tmp_path / "table.json")
    ev = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfpose_dp.evaluate",
            f"--checkpoint={model_dir}",
            f"--synthetic_root={synthetic_root}",
            f"--output_json={table_path}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ev.returncode == 0, ev.stderr[-3000:]
    # validation reports both protocols; evaluate's (the flip test, MPII's) is the same number
    assert 0 <= final["pckh@0.5"] <= 100 and 0 <= final["pckh@0.5_flip"] <= 100
    with open(table_path) as f:
        assert json.load(f)["Mean"] == pytest.approx(final["pckh@0.5_flip"], abs=1e-6)

    image = glob.glob(os.path.join(synthetic_root, "*", "images", "000130.jpg"))[0]
    out_dir = tmp_path / "poses"
    pr = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfpose_dp.predict",
            f"--checkpoint={model_dir}",
            f"--image={image}",
            f"--output_dir={out_dir}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pr.returncode == 0, pr.stderr[-3000:]
    assert "whole image" in pr.stderr
    with open(out_dir / "keypoints.json") as f:
        (result,) = json.load(f)
    assert result["image_id"] == 130 and len(result["keypoints"]) == 16 * 3
    assert os.path.getsize(out_dir / "000130_pose.png") > 1000


def test_a_bad_privacy_setting_fails_cleanly_and_writes_nothing(tmp_path, synthetic_root):
    """The command line's path; every refused setting: tests/training/test_bad_settings.py."""
    model_dir = str(tmp_path / "bad")
    out = _run([f"--model_dir={model_dir}", "--epsilon=0"], synthetic_root)
    assert out.returncode == 2
    assert "--epsilon=0" in out.stderr and "Traceback" not in out.stderr
    assert not os.path.exists(model_dir)


def test_data_dir_without_annotations_is_a_clear_error(tmp_path, synthetic_root):
    empty = tmp_path / "mpii"
    empty.mkdir()
    model_dir = str(tmp_path / "bad")
    out = _run([f"--model_dir={model_dir}", f"--data_dir={empty}"], synthetic_root)
    assert out.returncode != 0
    assert "no train annotations" in out.stderr
    assert not os.path.exists(model_dir)


def test_unknown_flag_values_are_rejected(tmp_path, synthetic_root):
    out = _run([f"--model_dir={tmp_path / 'x'}", "--model=resnet"], synthetic_root)
    assert out.returncode != 0 and "--model" in out.stderr


def _assert_eta_counts_the_stage(plan):
    stage = plan["public_stage"]
    hours, minutes, seconds = map(int, plan["eta"].split(":"))
    assert 3600 * hours + 60 * minutes + seconds == plan["eta_seconds"]
    expected = plan["seconds_per_step"] * plan["steps"] + stage["steps"] * stage["seconds_per_step"]
    assert plan["eta_seconds"] == pytest.approx(expected, abs=1)


def _bare_run(args, synthetic_root):
    """python -m tfpose_dp.train with only `args` and a tiny built-in set (no model flags)."""
    cmd = [
        sys.executable,
        "-m",
        "tfpose_dp.train",
        "--synthetic_train=120",
        "--synthetic_val=24",
        f"--synthetic_root={synthetic_root}",
        "--batch_size=16",
        "--epochs=1",
        "--epsilon=4",
        "--synthetic_domain=private",  # the presets learnt from the public domain
        *args,
    ]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_a_given_setting_that_differs_from_the_start_is_refused_naming_it(tmp_path):
    empty = tmp_path / "no_data_yet"  # refused before any data is read or written
    out = _bare_run(
        [
            "--init_from=preset:public_micro",
            "--input_size=128,96",
            f"--model_dir={tmp_path / 'm'}",
        ],
        str(empty),
    )
    assert out.returncode == 2
    assert "--input_size=96,72" in out.stderr and "leave --input_size out" in out.stderr
    assert not empty.exists() and not (tmp_path / "m").exists()


def test_the_main_commands_dry_run_starts_from_the_public_model_with_the_stage_in_its_eta(
    tmp_path, synthetic_root
):
    """`python -m tfpose_dp.train --epsilon=0.2 --projection=pdp --dry_run` as typed, on a tiny
    set (the shape adoption's cases: tests/runs/test_adopt_start.py)."""
    model_dir = tmp_path / "main"
    out = _bare_run(
        [
            "--epsilon=0.2",
            "--projection=pdp",
            "--public_examples=8",
            "--public_batch_size=8",
            f"--model_dir={model_dir}",
            "--dry_run",
        ],
        synthetic_root,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "--init_from=auto: starting from preset:public_5m" in out.stderr
    assert "from --init_from=preset:public_5m: --norm=group" in out.stderr  # adopted
    # the private phase tuned for it (tfpose_dp/default_start.py), said before it starts
    assert "--public_mix=auto: each private update mixes in" in out.stderr
    assert "--learning_rate=0.0003 (pdp from a start model" in out.stderr
    plan = json.loads(out.stdout[out.stdout.index("{") :])
    assert plan["model"] == {
        "model": "tiny_vit_5m",
        "input_size": [128, 96],
        "norm": "group",
        "keypoints": "mpii16",
    }
    assert plan["method"] == "pdp" and plan["epsilon"] == 0.2 and plan["noise_multiplier"] > 0
    assert plan["total_steps"] > 0 and plan["seconds_per_step"] > 0
    assert 1 <= plan["timed_steps"] <= 3  # fewer once 5 s are measured (a 5M step on a CPU)
    stage = plan["public_stage"]
    assert stage["steps"] == 250 and stage["seconds_per_step"] > 0  # the auto stage, timed
    assert 1 <= stage["timed_steps"] <= 3
    _assert_eta_counts_the_stage(plan)
    memory = plan["memory_plan_mb"]
    assert memory["pdp_basis"] > 0 and memory["per_example_gradients"] > 0
    assert memory["total"] == pytest.approx(sum(v for k, v in memory.items() if k != "total"))
    assert not model_dir.exists()  # no key, no checkpoint, no event file: no budget spent
