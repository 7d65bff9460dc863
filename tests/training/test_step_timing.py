"""The dry run's step timing (loop.mean_seconds): a warm-up step untimed, then up to `count`
steps, fewer once enough seconds are measured."""

import pytest

from tfpose_dp.training import loop


class _Clock:
    def __init__(self, seconds_per_step):
        self.now, self.per_step, self.calls = 0.0, seconds_per_step, []

    def time(self):
        return self.now

    def step(self, i):
        self.calls.append(i)
        self.now += self.per_step * (10 if i == 0 else 1)  # the warm-up traces: slow


def test_fast_steps_are_timed_count_times_after_the_warm_up(monkeypatch):
    clock = _Clock(0.2)
    monkeypatch.setattr(loop.time, "time", clock.time)
    mean, timed = loop.mean_seconds(clock.step, 3)
    assert (timed, clock.calls) == (3, [0, 1, 2, 3]) and mean == pytest.approx(0.2)


def test_slow_steps_stop_once_enough_seconds_are_measured(monkeypatch):
    clock = _Clock(4.0)  # a large model on a CPU: the second step brings 8 s >= 5 s
    monkeypatch.setattr(loop.time, "time", clock.time)
    assert loop.mean_seconds(clock.step, 3) == (4.0, 2)
    clock = _Clock(7.0)
    monkeypatch.setattr(loop.time, "time", clock.time)
    assert loop.mean_seconds(clock.step, 3) == (7.0, 1) and clock.calls == [0, 1]
