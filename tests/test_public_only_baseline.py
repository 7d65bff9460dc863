"""tools/public_only_baseline.py trains on PDP's own public people and scores on the grid's
val split."""

import json
import os
import subprocess
import sys

from tfpose_dp.data.annotations import load_split
from tfpose_dp.data.synthetic import ensure_synthetic_dataset
from tfpose_dp.training import datasets

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_data_dir_holds_the_seeds_pdp_public_people_and_the_grids_val(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "tools/public_only_baseline.py",
            "--synthetic_train=120",
            "--synthetic_val=24",
            "--public_examples=8",
            "--seeds=3",
            f"--output_root={tmp_path}",
            "--write_only",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    root = ensure_synthetic_dataset(120, 24, 0, None, "private")  # the cache the tool wrote
    rate = datasets.holdout_rate(8, None, None, 120)
    _, public = datasets.split_public(
        load_split(root, "train"), "holdout", 8, 3, holdout_fraction=rate
    )
    written = load_split(str(tmp_path / "data_seed3"), "train")
    assert sorted(written.ids) == sorted(public.ids) and len(written) == 8
    with open(tmp_path / "data_seed3" / "annotations" / "valid.json") as f:
        valid = json.load(f)
    with open(os.path.join(root, "annotations", "valid.json")) as f:
        assert valid == json.load(f)
