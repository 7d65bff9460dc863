"""Size and CPU latency of each export format (TinyViT-5M SimCC at 256x192 by default).

  python tools/benchmark_export.py [--model=tiny_vit_5m --input_size=256,192 --runs=20]

Batch 1, median over --runs after 3 warm-up runs, all in one process. Random weights (the
sizes and latencies do not depend on the values). The last line is one JSON object.
"""

import json
import os
import tempfile

import numpy as np
import tensorflow as tf
from absl import app, flags
from median_timer import median_ms

from tfpose_dp.export import formats
from tfpose_dp.models.pose_model import build_pose_model
from tfpose_dp.models.simcc import SimCCCodec

flags.DEFINE_string("model", "tiny_vit_5m", "Backbone variant.")
flags.DEFINE_list("input_size", ["256", "192"], "H,W.")
flags.DEFINE_integer("runs", 20, "Timed runs per format.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    size = tuple(int(v) for v in FLAGS.input_size)
    model = build_pose_model(FLAGS.model, size, norm="frozen_bn")
    codec = SimCCCodec(size)
    image = np.random.default_rng(0).integers(0, 255, (1, *size, 3)).astype(np.uint8)
    reps = list(np.random.default_rng(1).integers(0, 255, (8, *size, 3)).astype(np.uint8))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        sm = formats.write_saved_model(model, codec, os.path.join(tmp, "sm"))
        size_mb = (
            sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(sm) for f in fs) / 2**20
        )
        serve = tf.saved_model.load(sm).signatures["serving_default"]
        results["saved_model"] = {
            "size_mb": size_mb,
            "latency_ms": median_ms(lambda: serve(image=tf.constant(image)), FLAGS.runs),
        }
        for q in formats.QUANTIZATIONS:
            content = formats.tflite_bytes(model, codec, q, reps)
            runner = tf.lite.Interpreter(
                model_content=content, num_threads=2
            ).get_signature_runner()
            results[f"tflite_{q if q != 'none' else 'float32'}"] = {
                "size_mb": len(content) / 2**20,
                "latency_ms": median_ms(lambda r=runner: r(image=image), FLAGS.runs),
            }
        import onnxruntime as ort

        path = formats.write_onnx(model, codec, os.path.join(tmp, "pose.onnx"))
        sess = ort.InferenceSession(path)
        results["onnx"] = {
            "size_mb": formats.file_size_mb(path),
            "latency_ms": median_ms(lambda: sess.run(None, {"image": image}), FLAGS.runs),
        }
    print(
        json.dumps(
            {
                "model": FLAGS.model,
                "input_size": list(size),
                "batch": 1,
                "onnx_opset": formats.ONNX_OPSET,
                "formats": results,
            }
        )
    )


if __name__ == "__main__":
    app.run(main)
