"""Median wall time of a callable, for the benchmarks in tools/ (one process, warm-up first)."""

import statistics
import time


def median_ms(fn, runs, warmup=3):
    """Calls fn `warmup` times untimed, then `runs` times; returns the median in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)
