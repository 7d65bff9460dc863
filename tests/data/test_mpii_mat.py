import json
import subprocess
import sys

import numpy as np
import pytest

from tfpose_dp.data.annotations import load_records
from tfpose_dp.data.gt_valid import read_gt_valid
from tfpose_dp.data.mpii_mat import MatFormatError, read_release, split_by_gt_valid, split_by_image
from tfpose_dp.eval.ground_truth import load_ground_truth


def test_release_mat_gives_training_persons_with_head_boxes(mpii_release):
    mat, _, records = mpii_release
    persons = read_release(mat)
    # 5 train images, one person each; the joint-less person and the test image are left out.
    assert [p["image"] for p in persons] == [r["image"] for r in records]
    for p, r in zip(persons, records):
        np.testing.assert_allclose(p["joints"], r["joints"], atol=1e-4)
        assert p["joints_vis"] == r["joints_vis"] and p["center"] == r["center"]
        assert len(p["head_box"]) == 4


def test_gt_valid_persons_become_the_validation_split_in_file_order(mpii_release):
    mat, gt_valid, records = mpii_release
    train, valid = split_by_gt_valid(read_release(mat), *read_gt_valid(gt_valid))
    assert [p["image"] for p in valid] == [records[3]["image"], records[1]["image"]]
    assert {p["image"] for p in train} == {records[i]["image"] for i in (0, 2, 4)}


def test_unmatched_gt_valid_is_a_clear_error(mpii_release):
    mat, gt_valid, _ = mpii_release
    boxes, missing, pos = read_gt_valid(gt_valid)
    boxes = boxes.copy()
    boxes[:, :, 1] += 50.0  # the second person's head box no longer matches any release person
    with pytest.raises(MatFormatError, match="1 of 2 gt_valid.mat persons"):
        split_by_gt_valid(read_release(mat), boxes, missing, pos)


def test_a_json_file_is_not_taken_for_the_release(tmp_path):
    path = tmp_path / "x.mat"
    path.write_text("[]")
    with pytest.raises(MatFormatError, match="not the MPII release"):
        read_release(str(path))


def test_image_split_holds_out_whole_images():
    persons = [{"image": f"{i // 2}.jpg"} for i in range(40)]
    train, valid = split_by_image(persons, 0.25, seed=1)
    assert len(valid) == 10 and not {p["image"] for p in train} & {p["image"] for p in valid}


def test_converter_cli_output_loads_and_scores_against_gt_valid(
    mpii_release, mpii_sample, tmp_path
):
    mat, gt_valid, records = mpii_release
    out = tmp_path / "annotations"
    result = subprocess.run(
        [
            sys.executable,
            "tools/convert_mpii_mat.py",
            f"--mat={mat}",
            f"--gt_valid={gt_valid}",
            f"--output_dir={out}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["train"], summary["valid"]) == (3, 2)
    valid = load_records(str(out / "valid.json"), mpii_sample)
    assert len(valid) == 2 and np.all(valid.head_sizes > 0)
    # The converted split and gt_valid.mat describe the same persons for PCKh.
    _, j_json, v_json, h_json = load_ground_truth(str(out / "valid.json"))
    _, j_mat, v_mat, h_mat = load_ground_truth(gt_valid)
    np.testing.assert_allclose(j_json, j_mat, atol=1e-4)
    np.testing.assert_allclose(h_json, h_mat, rtol=1e-6)
