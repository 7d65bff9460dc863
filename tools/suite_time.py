"""Where the test suite's time goes: per-file seconds from pytest's --durations=0 report, and
the wall time two xdist workers would take handing out whole files in collection order (what
`--dist=loadfile` does), so a change's effect is read per file, not from one noisy total.

  python tools/suite_time.py                      # runs `python -m pytest -q --durations=0`
  python tools/suite_time.py --log=suite.log      # reads a report written earlier
  python tools/suite_time.py --log=new.log --base=old.log   # per-file change

The last line is one JSON object: the summed test seconds, the simulated makespan per worker,
pytest's own wall time and the files that take the most.
"""

import collections
import json
import re
import subprocess
import sys

from absl import app, flags

flags.DEFINE_string("log", None, "A pytest report with --durations=0; default: run the suite.")
flags.DEFINE_string("base", None, "An earlier report: print each file's change against it.")
flags.DEFINE_integer("workers", 2, "xdist workers of the simulated makespan.")
flags.DEFINE_integer("top", 15, "Files listed.")
FLAGS = flags.FLAGS

_DURATION = re.compile(r"\s*([\d.]+)s (setup|call|teardown)\s+(\S+?)::")
_WALL = re.compile(r" in ([\d.]+)s")


def file_seconds(report):
    """{test file: its setup + call + teardown seconds}, in the order the report lists them."""
    seconds = collections.Counter()
    for line in report.splitlines():
        match = _DURATION.match(line)
        if match:
            seconds[match.group(3)] += float(match.group(1))
    return seconds


def makespan(seconds, order, workers):
    """Each worker's busy seconds when whole files go, in `order`, to the least busy one."""
    busy = [0.0] * workers
    for name in order:
        busy[busy.index(min(busy))] += seconds.get(name, 0.0)
    return busy


def collection_order():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    order = []
    for line in out.splitlines():
        name = line.split("::")[0]
        if "::" in line and name not in order:
            order.append(name)
    return order


def main(argv):
    del argv
    if FLAGS.log:
        with open(FLAGS.log) as f:
            report = f.read()
    else:
        cmd = [sys.executable, "-m", "pytest", "-q", "--durations=0"]
        report = subprocess.run(cmd, capture_output=True, text=True).stdout
    seconds = file_seconds(report)
    if not seconds:
        sys.exit("no --durations=0 lines in the report: run pytest with --durations=0")
    base = None
    if FLAGS.base:
        with open(FLAGS.base) as f:
            base = file_seconds(f.read())
    for name, value in seconds.most_common(FLAGS.top):
        change = f" ({value - base.get(name, 0.0):+.1f})" if base is not None else ""
        print(f"{value:8.1f} s {name}{change}")
    walls = _WALL.findall(report)
    busy = makespan(seconds, collection_order(), FLAGS.workers)
    result = {
        "test_seconds": round(sum(seconds.values()), 1),
        "simulated_worker_seconds": [round(b, 1) for b in busy],
        "pytest_wall_seconds": float(walls[-1]) if walls else None,
        "top_files": {name: round(value, 1) for name, value in seconds.most_common(5)},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    app.run(main)
