"""Input-pipeline throughput: decoded, warped, augmented 256x192 crops per second.

  python tools/benchmark_input.py                      # built-in synthetic people
  python tools/benchmark_input.py --data_dir=/data/mpii

Runs the training pipeline (Poisson-sampled chunks, augmentation, SimCC targets) exactly as
the trainer builds it and prints, as its last line, one JSON object with `images_per_s`.
"""

import json
import os
import time

from absl import app, flags

from tfpose_dp.data.annotations import load_split
from tfpose_dp.data.augmentation import AugmentConfig
from tfpose_dp.data.pipeline import training_dataset
from tfpose_dp.data.synthetic import ensure_synthetic_dataset
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.privacy.sampling import PoissonSampler

flags.DEFINE_string("data_dir", None, "MPII folder; default: the built-in synthetic set.")
flags.DEFINE_list("input_size", ["256", "192"], "H,W.")
flags.DEFINE_integer("batch_size", 32, "Expected batch size.")
flags.DEFINE_integer("physical_batch_size", 8, "Chunk size.")
flags.DEFINE_integer("chunks", 60, "Timed chunks (after 5 warm-up chunks).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    size = tuple(int(v) for v in FLAGS.input_size)
    root = FLAGS.data_dir or ensure_synthetic_dataset(4000, 400, 0)
    records = load_split(root, "train")
    sampler = PoissonSampler(len(records), FLAGS.batch_size, FLAGS.physical_batch_size, entropy=0)
    ds = training_dataset(records, sampler, size, SimCCCodec(size), 0, AugmentConfig(), seed=0)
    it = iter(ds)
    for _ in range(5):
        next(it)
    t0 = time.perf_counter()
    for _ in range(FLAGS.chunks):
        next(it)
    seconds = time.perf_counter() - t0
    images = FLAGS.chunks * FLAGS.physical_batch_size
    print(
        json.dumps(
            {
                "images_per_s": images / seconds,
                "input_size": list(size),
                "data": FLAGS.data_dir or "synthetic",
                "cores": os.cpu_count(),
                "images": images,
            }
        )
    )


if __name__ == "__main__":
    app.run(main)
