"""How fast a run goes and when it will end, for the progress lines.

Timings are averaged over each log window, never given per step: a single step's time grows
with the chunks its Poisson draw fills, so it would reveal that step's batch size. Examples/s
counts the *expected* batch (a public number), not the drawn one.

>>> t = iter([0.0, 50.0])
>>> pace = Pace(first_step=0, total_steps=100, expected_batch=32, clock=lambda: next(t))
>>> pace.line(10, now_text=lambda seconds: "12:00")
'5.00 s/step | 6.4 ex/s | elapsed 0:00:50 | ETA 0:07:30 (ends 12:00, total 0:08:20)'
"""

import datetime
import time


def duration(seconds):
    """H:MM:SS."""
    seconds = int(round(max(seconds, 0.0)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _end_time(seconds_from_now):
    end = datetime.datetime.now() + datetime.timedelta(seconds=seconds_from_now)
    today = datetime.date.today()
    return f"{end:%H:%M}" if end.date() == today else f"{end:%a %H:%M}"


class Pace:
    """Seconds per step over the last window, elapsed time, ETA and planned end."""

    def __init__(self, first_step, total_steps, expected_batch, clock=time.time):
        self.total_steps, self.expected_batch, self.clock = total_steps, expected_batch, clock
        self.started = self.window_start = clock()
        self.window_first = first_step

    def pause_over(self, step):
        """Starts a new window at `step`: time spent outside steps (validation, checkpoints)
        does not count as step time."""
        self.window_start, self.window_first = self.clock(), step

    def line(self, step, now_text=_end_time):
        """The timing part of the progress line at `step`; starts the next window."""
        now = self.clock()
        steps = step - self.window_first
        if steps <= 0:
            return ""
        per_step = (now - self.window_start) / steps
        remaining = (self.total_steps - step) * per_step
        self.window_start, self.window_first = now, step
        return (
            f"{per_step:.2f} s/step | {self.expected_batch / per_step:.1f} ex/s | "
            f"elapsed {duration(now - self.started)} | ETA {duration(remaining)} "
            f"(ends {now_text(remaining)}, total {duration(now - self.started + remaining)})"
        )
