"""tools/suite_time.py: per-file seconds from a --durations=0 report and the two workers'
makespan over whole files."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "tools"))
from suite_time import file_seconds, makespan  # noqa: E402

REPORT = """
============================= slowest durations ==============================
116.29s call     tests/test_train_app.py::test_main
75.13s setup    tests/training/test_a.py::test_one
10.00s call     tests/training/test_a.py::test_one
0.50s teardown tests/training/test_a.py::test_one
3.00s call     tests/test_b.py::test_x[param-1]
457 passed, 38 skipped, 3415 warnings in 1116.85s (0:18:36)
"""


def test_each_files_setup_call_and_teardown_are_summed():
    seconds = file_seconds(REPORT)
    assert seconds == {
        "tests/test_train_app.py": pytest.approx(116.29),
        "tests/training/test_a.py": pytest.approx(85.63),
        "tests/test_b.py": pytest.approx(3.0),
    }


def test_whole_files_go_to_the_least_busy_worker_in_order():
    seconds = {"a": 10.0, "b": 4.0, "c": 3.0, "d": 5.0}
    assert makespan(seconds, ["a", "b", "c", "d"], 2) == [10.0, 12.0]
    assert makespan(seconds, ["a", "b", "c", "d", "unlisted"], 3) == [10.0, 4.0, 8.0]
