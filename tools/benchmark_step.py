"""Step-time and memory benchmark: non-private vs TF Privacy's stock DP step vs our DP step
(exact per-example gradients, `dp`; ghost norms, `ghost`) and PDP step, each mode in a process
of its own so that its peak memory is its own. `--modes=...,keras_fit,tfp_vectorized,
tfp_dpmodel` adds our optimizer through Keras `fit` and TF Privacy's own fast paths
(tools/keras_dp_peers.py) on the same model, batch and clip.

  python tools/benchmark_step.py                        # TinyViT-5M SimCC, 128x96, batch 16
  python tools/benchmark_step.py --preset=paper         # 256x192, batch 32 in chunks of 8
  python tools/benchmark_step.py --skip_stock --model=tiny_vit_micro --input_size=96,72
  python tools/benchmark_step.py --interleave --steps=10  # the modes in turn in one process

Each mode reports the median of --steps timed steps after --warmup steps and its process's
peak resident memory (`<mode>_peak_mb`, which includes TensorFlow's own ~1 GB). The last line
is one JSON object with every mode's numbers and the ratios.
"""

import json
import resource
import subprocess
import sys

import numpy as np
import tensorflow as tf
from absl import app, flags
from keras_dp_peers import KERAS_MODES, keras_step
from median_timer import median_ms
from random_pose_batch import random_pose_batch

from tfpose_dp.models.pose_model import build_pose_model, trainable_variables
from tfpose_dp.privacy.optimizer import PoseDPSGD
from tfpose_dp.privacy.projection import SubspaceProjection
from tfpose_dp.training.memory_plan import MB, memory_plan
from tfpose_dp.training.pdp_basis import PublicBasis
from tfpose_dp.training.steps import NonPrivateSteps, PrivateSteps, batched_losses

PRESETS = {
    "default": dict(input_size=(128, 96), batch_size=16, chunk=16),
    "paper": dict(input_size=(256, 192), batch_size=32, chunk=8),
}
MODES = ("nonprivate", "stock", "dp", "ghost", "pdp", *KERAS_MODES)
DEFAULT_MODES = ("nonprivate", "stock", "dp", "ghost", "pdp")

flags.DEFINE_enum("preset", "default", list(PRESETS), "Input size, batch and chunk.")
flags.DEFINE_enum("mode", "all", ["all", *MODES], "One mode (a child process) or all of them.")
flags.DEFINE_list(
    "modes", list(DEFAULT_MODES), f"With --mode=all: the modes to run, of {', '.join(MODES)}."
)
flags.DEFINE_string("model", "tiny_vit_5m", "Backbone variant.")
flags.DEFINE_list("input_size", None, "H,W (default: the preset's).")
flags.DEFINE_string("norm", "frozen_bn", "Norm choice.")
flags.DEFINE_string("trainable", "all", "all or last_stage.")
flags.DEFINE_integer("steps", 10, "Timed steps per mode.")
flags.DEFINE_integer(
    "rounds", 1, "Run every mode's process this many times, in turn; report the medians."
)
flags.DEFINE_integer("warmup", 2, "Untimed steps (compilation) per mode.")
flags.DEFINE_integer("stock_steps", 3, "Timed steps for the (slow) stock optimizer.")
flags.DEFINE_bool("skip_stock", False, "Leave out the stock DPKerasSGDOptimizer.")
flags.DEFINE_bool(
    "interleave", False, "Non-private, DP and ghost steps in turn in one process: ratios only."
)
flags.DEFINE_integer("projection_dim", 100, "PDP: k.")
flags.DEFINE_integer("public_examples", 100, "PDP: m.")
flags.DEFINE_enum("pdp_clipping", "vmap", ["vmap", "ghost"], "Clipping of the pdp mode.")
flags.DEFINE_integer("basis_refresh_steps", 20, "PDP: refresh period s (amortised in pdp_ms).")
FLAGS = flags.FLAGS


def _setup():
    preset = PRESETS[FLAGS.preset]
    size = tuple(int(v) for v in FLAGS.input_size) if FLAGS.input_size else preset["input_size"]
    model = build_pose_model(FLAGS.model, size, FLAGS.norm)
    variables = trainable_variables(model, FLAGS.trainable)
    return model, variables, preset["batch_size"], preset["chunk"], size


def run_mode(mode):
    """{mode_ms, ...} of one mode, in this process."""
    model, variables, b, chunk, size = _setup()
    batch = random_pose_batch(size, chunk)
    chunks = b // chunk

    def losses(out):
        return batched_losses(out, batch)

    out = {"num_trainable": int(sum(np.prod(v.shape) for v in variables))}
    if mode == "stock":
        from tensorflow_privacy import DPKerasSGDOptimizer

        stock = DPKerasSGDOptimizer(l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=1e-3)

        @tf.function
        def step():
            with tf.GradientTape(persistent=True) as tape:
                loss = losses(model(batch["image"], training=True))
            stock.minimize(loss, variables, tape=tape)

        out["stock_ms"] = median_ms(step, FLAGS.stock_steps, 1) * chunks
    elif mode in KERAS_MODES:  # the whole model trains; one chunk per call, as stock
        step, facts = keras_step(mode, model, batch, b)
        out.update(facts)
        slow = mode == "tfp_vectorized"  # tape.jacobian, as stock
        timed, warmup = (FLAGS.stock_steps, 1) if slow else (FLAGS.steps, FLAGS.warmup)
        out[f"{mode}_ms"] = median_ms(step, timed, warmup) * chunks
    else:
        steps, optimizer = _steps(mode, model, variables, b)
        if mode == "pdp":
            out["pdp_refresh_ms"], out["pdp_refresh_gradients_ms"] = _attach_projection(
                optimizer, steps, variables, size, chunk
            )
            # the peak up to here: the model, the basis blocks and the first refresh
            out["pdp_refresh_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out[f"{mode}_ms"] = median_ms(_step_fn(steps, batch, chunks), FLAGS.steps, FLAGS.warmup)
        if mode == "pdp":  # the projected step, then with the refresh amortised over s steps
            out["pdp_step_ms"] = out["pdp_ms"]
            out["pdp_ms"] += out["pdp_refresh_ms"] / FLAGS.basis_refresh_steps
    out[f"{mode}_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if mode in ("dp", "pdp"):  # what the memory plan predicts for the mode
        plan = memory_plan(
            model.count_params(),
            out["num_trainable"],
            "sgd",
            "vmap",
            chunk,
            "pdp" if mode == "pdp" else "none",
            FLAGS.projection_dim,
            FLAGS.public_examples,
            private=True,
            largest_variable=max(int(np.prod(v.shape)) for v in variables),
        )
        out[f"{mode}_planned_mb"] = plan["total"]
    return out


def _steps(mode, model, variables, b):
    """The trainer's compiled steps of one mode (one chunk per call) and their optimizer."""
    if mode == "nonprivate":
        optimizer = tf.keras.optimizers.legacy.SGD(1e-3)
        return NonPrivateSteps(model, optimizer, variables), optimizer
    optimizer = PoseDPSGD(
        l2_norm_clip=1.0, noise_multiplier=1.0, expected_batch_size=b, learning_rate=1e-3
    )
    clipping = "ghost" if mode == "ghost" else FLAGS.pdp_clipping if mode == "pdp" else "vmap"
    return PrivateSteps(model, optimizer, variables, clipping=clipping), optimizer


def _step_fn(steps, batch, chunks):
    def step():
        for _ in range(chunks):
            steps.accumulate(batch)
        steps.apply()

    return step


def interleaved():
    """Non-private, DP and ghost steps in turn in one process, --steps rounds after --warmup:
    the ratios then come from the same minutes of this shared machine (separate processes
    minutes apart gave DP 1.14x-1.48x here). No per-mode peaks: the process holds all three."""
    model, variables, b, chunk, size = _setup()
    batch = random_pose_batch(size, chunk)
    modes = ("nonprivate", "dp", "ghost")
    steps = {m: _step_fn(_steps(m, model, variables, b)[0], batch, b // chunk) for m in modes}
    for _ in range(FLAGS.warmup):
        for step in steps.values():
            step()
    times = {m: [] for m in modes}
    for _ in range(FLAGS.steps):
        for m, step in steps.items():
            times[m].append(median_ms(step, 1, 0))
    out = {f"{m}_ms": float(np.median(times[m])) for m in modes}
    out["dp_ratio"] = out["dp_ms"] / out["nonprivate_ms"]
    out["ghost_ratio"] = out["ghost_ms"] / out["nonprivate_ms"]
    out["dp_ratio_by_round"] = [d / n for d, n in zip(times["dp"], times["nonprivate"])]
    return out


def _attach_projection(optimizer, steps, variables, size, chunk):
    """PDP: the trainer's refresh (m distinct public examples in chunks, per-example gradients
    clipped to C, written into the basis blocks, the top-k basis built in place); returns its
    milliseconds, and those of its per-example gradients (the last refresh's)."""
    projection = SubspaceProjection(
        [v.shape for v in variables], FLAGS.projection_dim, FLAGS.public_examples
    )
    optimizer.gradient_transform = projection
    m = FLAGS.public_examples
    public = [random_pose_batch(size, chunk, seed=1 + i) for i in range(-(-m // chunk))]
    public[-1]["mask"] = tf.cast(tf.range(chunk) < m - (len(public) - 1) * chunk, tf.float32)
    # the private step's compiled per-example gradient, as the trainer passes it (one trace)
    basis = PublicBasis(steps.per_example_gradients, public, variables, projection, 1.0)
    milliseconds = median_ms(basis.refresh, 2, 1)
    return milliseconds, 1000.0 * basis.gradient_seconds


def _child(mode):
    """One mode's numbers, measured in a process of its own."""
    child = subprocess.run(
        [sys.executable, *sys.argv, f"--mode={mode}"], capture_output=True, text=True, check=True
    )
    return json.loads(child.stdout.strip().splitlines()[-1])


def main(argv):
    del argv
    if FLAGS.interleave:
        print(json.dumps({"preset": FLAGS.preset, **interleaved()}))
        return
    if FLAGS.mode != "all":
        print(json.dumps(run_mode(FLAGS.mode)))
        return
    _, _, b, chunk, size = _setup()
    results = {
        "model": FLAGS.model,
        "preset": FLAGS.preset,
        "input_size": list(size),
        "batch_size": b,
        "chunk": chunk,
    }
    modes = [m for m in FLAGS.modes if not (m == "stock" and FLAGS.skip_stock)]
    # The modes take turns, round after round, so that a slow spell of this shared machine
    # falls on all of them rather than on one; each figure is the median over the rounds
    # (the peak memory: the largest).
    rounds = [[_child(mode) for mode in modes] for _ in range(FLAGS.rounds)]
    for measured in zip(*rounds):
        for key in measured[0]:
            values = [m[key] for m in measured]
            if isinstance(values[0], bool):  # a fact (which route ran), not a measurement
                results[key] = values[0]
            elif key.endswith("_peak_mb"):
                results[key] = max(values)
            else:
                results[key] = float(np.median(values))
    ratios = {
        "dp_ratio": ("dp_ms", "nonprivate_ms"),
        "ghost_ratio": ("ghost_ms", "nonprivate_ms"),
        "stock_ratio": ("stock_ms", "nonprivate_ms"),
        **{f"{m}_ratio": (f"{m}_ms", "nonprivate_ms") for m in KERAS_MODES},
        **{
            f"{m}_peak_over_nonprivate": (f"{m}_peak_mb", "nonprivate_peak_mb") for m in KERAS_MODES
        },
        "dp_peak_over_nonprivate": ("dp_peak_mb", "nonprivate_peak_mb"),
        "ghost_peak_over_nonprivate": ("ghost_peak_mb", "nonprivate_peak_mb"),
    }
    for name, (a, b) in ratios.items():
        if a in results and b in results:
            results[name] = results[a] / results[b]
    if FLAGS.rounds > 1 and {"dp", "nonprivate"} <= set(modes):  # each round's own ratio
        merged = [{k: v for child in r for k, v in child.items()} for r in rounds]
        results["dp_ratio_by_round"] = [m["dp_ms"] / m["nonprivate_ms"] for m in merged]
    if {"dp", "pdp"} <= set(modes):
        results["pdp_overhead_vs_dp"] = results["pdp_ms"] / results["dp_ms"] - 1.0
        # PDP's memory above DP's, measured and planned, against the basis (4 k p bytes).
        results["basis_mb"] = 4 * FLAGS.projection_dim * results["num_trainable"] / MB
        results["pdp_minus_dp_peak_mb"] = results["pdp_peak_mb"] - results["dp_peak_mb"]
        results["pdp_minus_dp_planned_mb"] = results["pdp_planned_mb"] - results["dp_planned_mb"]
        results["pdp_extra_over_basis"] = results["pdp_minus_dp_peak_mb"] / results["basis_mb"]
    print(json.dumps(results))


if __name__ == "__main__":
    app.run(main)
