"""Step-time benchmark: non-private vs TF Privacy's stock DP step vs our DP (and PDP) step.

  python tools/benchmark_step.py                       # TinyViT-5M SimCC, 128x96, batch 16
  python tools/benchmark_step.py --skip_stock --model=tiny_vit_micro --input_size=96,72

All variants run in one process on the same model, batch and input; each reports the median
of --steps timed steps after --warmup steps. The last line is one JSON object.
"""

import json
import resource

import numpy as np
import tensorflow as tf
from absl import app, flags
from median_timer import median_ms
from random_pose_batch import random_pose_batch
from tensorflow_privacy import DPKerasSGDOptimizer

from tfpose_dp.models.pose_model import build_pose_model, trainable_variables
from tfpose_dp.models.simcc import simcc_per_example_loss
from tfpose_dp.privacy.clipping import per_example_gradients
from tfpose_dp.privacy.optimizer import PoseDPSGD
from tfpose_dp.privacy.projection import SubspaceProjection, top_eigenbasis
from tfpose_dp.training.steps import PrivateSteps

flags.DEFINE_string("model", "tiny_vit_5m", "Backbone variant.")
flags.DEFINE_list("input_size", ["128", "96"], "H,W.")
flags.DEFINE_string("norm", "frozen_bn", "Norm choice.")
flags.DEFINE_string("trainable", "all", "all or last_stage.")
flags.DEFINE_integer("batch_size", 16, "Examples per step.")
flags.DEFINE_integer("steps", 10, "Timed steps per variant.")
flags.DEFINE_integer("warmup", 2, "Untimed steps (compilation) per variant.")
flags.DEFINE_integer("stock_steps", 3, "Timed steps for the (slow) stock optimizer.")
flags.DEFINE_bool("skip_stock", False, "Leave out the stock DPKerasSGDOptimizer.")
flags.DEFINE_integer("projection_dim", 100, "PDP: k.")
flags.DEFINE_integer("public_examples", 100, "PDP: m.")
flags.DEFINE_integer("basis_refresh_steps", 100, "PDP: refresh period s (amortised in pdp_ms).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    size = tuple(int(v) for v in FLAGS.input_size)
    b = FLAGS.batch_size
    model = build_pose_model(FLAGS.model, size, FLAGS.norm)
    variables = trainable_variables(model, FLAGS.trainable)
    batch = random_pose_batch(size, b)

    def losses(out):
        return simcc_per_example_loss(
            batch["target_x"],
            batch["target_y"],
            batch["target_weight"],
            out["simcc_x"],
            out["simcc_y"],
        )

    results = {
        "model": FLAGS.model,
        "input_size": list(size),
        "batch_size": b,
        "num_trainable": int(sum(np.prod(v.shape) for v in variables)),
    }

    plain = tf.keras.optimizers.legacy.SGD(1e-3)

    @tf.function
    def nonprivate_step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(losses(model(batch["image"], training=True)))
        plain.apply_gradients(zip(tape.gradient(loss, variables), variables))

    results["nonprivate_ms"] = median_ms(nonprivate_step, FLAGS.steps, FLAGS.warmup)

    if not FLAGS.skip_stock:
        stock = DPKerasSGDOptimizer(l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=1e-3)

        @tf.function
        def stock_step():
            with tf.GradientTape(persistent=True) as tape:
                loss = losses(model(batch["image"], training=True))
            stock.minimize(loss, variables, tape=tape)

        results["dp_stock_ms"] = median_ms(stock_step, FLAGS.stock_steps, 1)

    ours = PoseDPSGD(
        l2_norm_clip=1.0, noise_multiplier=1.0, expected_batch_size=b, learning_rate=1e-3
    )
    steps = PrivateSteps(model, ours, variables)

    def dp_step():
        steps.accumulate(batch)
        steps.apply()

    results["dp_ms"] = median_ms(dp_step, FLAGS.steps, FLAGS.warmup)
    results["dp_ratio"] = results["dp_ms"] / results["nonprivate_ms"]
    if "dp_stock_ms" in results:
        results["dp_stock_ratio"] = results["dp_stock_ms"] / results["nonprivate_ms"]

    # PDP: the projection every step plus the basis refresh amortised over s steps.
    projection = SubspaceProjection(results["num_trainable"], FLAGS.projection_dim)
    ours.gradient_transform = projection
    loss_fn = steps._loss_fn

    @tf.function
    def public_grads(chunk):
        _, grads = per_example_gradients(loss_fn, chunk, variables)
        return tf.concat([tf.reshape(g, [tf.shape(g)[0], -1]) for g in grads], 1)

    chunk = {k: v for k, v in batch.items() if k != "mask"}

    def refresh():
        rounds = -(-FLAGS.public_examples // b)
        g = tf.concat([public_grads(chunk) for _ in range(rounds)], 0)[: FLAGS.public_examples]
        projection.set_basis(top_eigenbasis(g, FLAGS.projection_dim))

    refresh_ms = median_ms(refresh, 2, 1)
    project_ms = median_ms(dp_step, FLAGS.steps, FLAGS.warmup)
    results["pdp_refresh_ms"] = refresh_ms
    results["pdp_ms"] = project_ms + refresh_ms / FLAGS.basis_refresh_steps
    results["pdp_ratio"] = results["pdp_ms"] / results["nonprivate_ms"]
    results["pdp_overhead_vs_dp"] = results["pdp_ms"] / results["dp_ms"] - 1.0
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(results))


if __name__ == "__main__":
    app.run(main)
