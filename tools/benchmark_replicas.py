"""DP step time on 1 vs N replicas (MirroredStrategy over logical CPUs, or GPUs when present).

  python tools/benchmark_replicas.py                    # TinyViT-5M, 128x96, chunk 16
  python tools/benchmark_replicas.py --model=tiny_vit_micro --input_size=96,72

Both runs happen in one process on the same chunk: one logical step = accumulate one chunk
of --physical_batch_size examples (split evenly over the replicas) + apply (all-reduce, noise,
update). On a 2-core CPU the logical devices share the same cores, so expect no speed-up;
the number shows the cost of the distributed path. The last line is one JSON object.
"""

import json

import tensorflow as tf
from absl import app, flags
from median_timer import median_ms
from random_pose_batch import random_pose_batch

from tfpose_dp.models.pose_model import build_pose_model, trainable_variables
from tfpose_dp.privacy.optimizer import make_dp_optimizer
from tfpose_dp.training.distribution import make_strategy, split_cpu
from tfpose_dp.training.steps import PrivateSteps

flags.DEFINE_string("model", "tiny_vit_5m", "Backbone variant.")
flags.DEFINE_list("input_size", ["128", "96"], "H,W.")
flags.DEFINE_integer("physical_batch_size", 16, "Examples per chunk (all replicas together).")
flags.DEFINE_integer("replicas", 2, "Replicas of the mirrored run.")
flags.DEFINE_integer("steps", 8, "Timed steps per run (after 2 warm-up steps).")
FLAGS = flags.FLAGS


def _step_ms(strategy, size, chunk):
    with strategy.scope():
        model = build_pose_model(FLAGS.model, size, "group")
        variables = trainable_variables(model, "all")
        opt = make_dp_optimizer("sgd", 0.01, 1.0, 1.0, FLAGS.physical_batch_size)
        steps = PrivateSteps(model, opt, variables, strategy=strategy)
    per_replica = FLAGS.physical_batch_size // strategy.num_replicas_in_sync
    ds = tf.data.Dataset.from_tensor_slices(chunk).batch(per_replica).repeat()
    it = iter(strategy.distribute_datasets_from_function(lambda context: ds))

    def step():
        steps.accumulate(next(it))
        steps.apply()

    return median_ms(step, FLAGS.steps, warmup=2)


def main(argv):
    del argv
    split_cpu(FLAGS.replicas)
    size = tuple(int(v) for v in FLAGS.input_size)
    chunk = random_pose_batch(size, FLAGS.physical_batch_size)
    one = _step_ms(tf.distribute.get_strategy(), size, chunk)
    many = _step_ms(make_strategy("mirrored", FLAGS.replicas), size, chunk)
    print(
        json.dumps(
            {
                "model": FLAGS.model,
                "input_size": list(size),
                "physical_batch_size": FLAGS.physical_batch_size,
                "replicas": FLAGS.replicas,
                "step_ms_1_replica": one,
                f"step_ms_{FLAGS.replicas}_replicas": many,
                "ratio": many / one,
            }
        )
    )


if __name__ == "__main__":
    app.run(main)
