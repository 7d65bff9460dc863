"""How stale a PDP basis may get: each run's refreshes, as a table to choose
--basis_refresh_steps by.

  python tools/refresh_table.py --runs='runs/stale/*'

At every refresh the trainer logs (TensorBoard, public data and released weights only) the
share of the public per-example gradients' energy ||G||_F^2 that the fresh top-k basis holds
(`pdp/public_energy_share`) and, from the second refresh on, the share that the basis it
replaces, s steps old, still holds (`pdp/previous_basis_share`). Their ratio is what a
refresh period s keeps of a fresh basis; `pdp/refresh_seconds` is what a refresh costs (the
first one, which traces the graphs, is left out of the median).
"""

import glob
import json
import os

import numpy as np
import tensorflow as tf
from absl import app, flags
from tensorboard.backend.event_processing import event_accumulator

flags.DEFINE_string("runs", "runs/*", "Glob of model dirs of PDP runs.")
FLAGS = flags.FLAGS


def scalars(log_dir, tag):
    """{step: value} of one scalar tag over the run's event files."""
    values = {}
    for path in glob.glob(os.path.join(log_dir, "events.out.tfevents.*")):
        acc = event_accumulator.EventAccumulator(path, size_guidance={"tensors": 0})
        acc.Reload()
        if tag in acc.Tags()["tensors"]:
            for event in acc.Tensors(tag):
                values[event.step] = float(tf.make_ndarray(event.tensor_proto))
    return values


def summarise(run):
    """One row for a run, or None when it has fewer than two refreshes."""
    fresh = scalars(run, "pdp/public_energy_share")
    previous = scalars(run, "pdp/previous_basis_share")
    seconds = scalars(run, "pdp/refresh_seconds")
    if len(fresh) < 2 or not previous:
        return None
    steps = sorted(fresh)
    kept = [previous[s] / fresh[s] for s in sorted(previous) if fresh[s] > 0]
    return {
        "run": run,
        "refresh_steps": int(np.median(np.diff(steps))),
        "refreshes": len(steps),
        "fresh_share": float(np.mean([fresh[s] for s in steps])),
        "previous_share": float(np.mean(list(previous.values()))),
        "kept_of_fresh": float(np.mean(kept)),
        "kept_of_fresh_min": float(np.min(kept)),
        "refresh_seconds": float(np.median([seconds[s] for s in sorted(seconds)[1:]])),
    }


def main(argv):
    del argv
    rows = [r for r in map(summarise, sorted(glob.glob(FLAGS.runs))) if r is not None]
    if not rows:
        raise SystemExit(f"no PDP run with two or more refreshes matches --runs={FLAGS.runs}")
    print("| run | s | refreshes | fresh basis share | s-step-old basis share | kept (min) |")
    print("|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: r["refresh_steps"]):
        print(
            f"| {os.path.basename(r['run'])} | {r['refresh_steps']} | {r['refreshes']} | "
            f"{100 * r['fresh_share']:.1f} % | {100 * r['previous_share']:.1f} % | "
            f"{100 * r['kept_of_fresh']:.1f} % ({100 * r['kept_of_fresh_min']:.1f} %) |"
        )
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    app.run(main)
