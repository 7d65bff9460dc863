"""A run without --model_dir gets a folder of its own, even in the same second as another."""

import os

from tfpose_dp.runs.layout import fresh_run_dir


def test_two_runs_in_one_second_get_two_folders(tmp_path):
    root = str(tmp_path / "runs")
    first = fresh_run_dir("20261207-101500", root)
    assert first == os.path.join(root, "20261207-101500")
    os.makedirs(first)
    second = fresh_run_dir("20261207-101500", root)
    os.makedirs(second)
    assert second == first + "-1" and fresh_run_dir("20261207-101500", root) == first + "-2"
