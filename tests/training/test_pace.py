"""Progress-line timing: window averages, ETA, and time outside steps left out."""

from tfpose_dp.training.pace import Pace, duration


def test_each_window_averages_its_own_steps_and_validation_time_is_left_out():
    times = iter([0.0, 20.0, 100.0, 130.0, 131.0])  # start, step 10, after validation, step 20
    pace = Pace(first_step=0, total_steps=40, expected_batch=64, clock=lambda: next(times))
    first = pace.line(10, now_text=lambda s: "x")
    assert first.startswith("2.00 s/step | 32.0 ex/s") and "ETA 0:01:00" in first
    pace.pause_over(10)  # validation took 80 s
    second = pace.line(20, now_text=lambda s: "x")
    assert second.startswith("3.00 s/step") and "elapsed 0:02:10" in second
    assert "ETA 0:01:00" in second  # 20 steps left at 3 s
    assert pace.line(20) == ""  # no step since the last line: nothing to say


def test_durations_read_as_hours_minutes_seconds():
    assert duration(3 * 3600 + 62) == "3:01:02" and duration(-5) == "0:00:00"
