"""Export a trained pose model for deployment: SavedModel, Keras, TFLite, ONNX.

  python -m tfpose_dp.export --checkpoint=/tmp/run1 --output_dir=/tmp/export \
      --formats=saved_model,keras,tflite,onnx --quantize=none,float16,dynamic,int8

Input: uint8 RGB person crops at the training input size; outputs keypoints (crop pixels),
scores and the raw SimCC logits. Nothing of the optimizer or the privacy state is exported
except the run's privacy record (method, epsilon, delta, sigma, steps, q, unit of privacy,
accountant): assets/privacy.json, TFLite metadata and ONNX metadata_props; it is printed too.
"""

import os
import sys

import numpy as np
from absl import app, flags, logging

from tfpose_dp import cli_help, config_flags

flags.DEFINE_string("checkpoint", None, "Training --model_dir (newest checkpoint) or a ckpt-* dir.")
flags.DEFINE_string("output_dir", "export", "Where the artifacts go.")
FORMATS = ("saved_model", "keras", "tflite", "onnx")
flags.DEFINE_list("formats", list(FORMATS), ", ".join(FORMATS) + " (keras: pose.keras).")
flags.DEFINE_list("quantize", ["none"], "TFLite variants: none, float16, dynamic, int8.")
flags.DEFINE_integer("representative_count", 64, "Crops for int8 calibration.")
flags.DEFINE_bool(
    "flip_test", False, "Bake the flip test into the graphs (crop and mirror in one batch: 2x)."
)
config_flags.define_flags("data")  # where the run's data is, for int8 calibration crops
FLAGS = flags.FLAGS


def representative_crops(manifest, codec, count):
    """uint8 crops for int8 calibration: `count` images of the run's validation split, read one
    by one (a built-in synthetic run draws them in memory: nothing is written)."""
    from tfpose_dp.eval.overlay import crop_to_uint8
    from tfpose_dp.pose_estimator import person_crops

    d = manifest.config.data
    if d.data_dir is None and FLAGS.data_dir is None and d.data_format != "coco":
        from tfpose_dp.data.synthetic import make_sample

        images = []
        for index in range(d.synthetic_train, d.synthetic_train + count):  # the val indices
            image, ann = make_sample(d.synthetic_seed, index, domain=d.synthetic_domain)
            joints = np.array(ann["joints"]) - 1.0
            lo, hi = joints.min(0), joints.max(0)
            images.append((np.asarray(image), [*lo, *(hi - lo)]))
        return [crop_to_uint8(person_crops(i, [b], codec.input_size)[1][0]) for i, b in images]
    from tfpose_dp.data.pipeline import eval_dataset
    from tfpose_dp.runs.restore import run_split

    records, _ = run_split(
        manifest.config,
        "valid",
        FLAGS.data_dir,
        FLAGS.synthetic_root,
        annotation_file=FLAGS.val_annotations,
        image_dir=FLAGS.image_dir,
    )
    records = records.subset(np.arange(min(count, len(records))))
    crops = [
        crop_to_uint8(b["image"].numpy()) for b in eval_dataset(records, codec.input_size, codec, 1)
    ]
    return [c[0] for c in crops]


def main(argv):
    del argv

    from tfpose_dp.export import formats, provenance
    from tfpose_dp.runs.checkpoints import read_state
    from tfpose_dp.runs.restore import CheckpointNotFound, checkpoint_dir, load_trained_model

    try:
        if not FLAGS.checkpoint:
            raise ValueError("give --checkpoint=MODEL_DIR")
        unknown = set(FLAGS.formats) - set(FORMATS)
        bad_q = set(FLAGS.quantize) - set(formats.QUANTIZATIONS)
        if unknown or bad_q:
            raise ValueError(f"unknown --formats {sorted(unknown)} or --quantize {sorted(bad_q)}")
        model, codec, manifest = load_trained_model(FLAGS.checkpoint)
        record = provenance.privacy_record(read_state(checkpoint_dir(FLAGS.checkpoint)))
    except (ValueError, CheckpointNotFound) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    record.update(provenance.model_io(codec, FLAGS.flip_test))
    print(provenance.describe(record))
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    written = []
    if "saved_model" in FLAGS.formats:
        written.append(
            formats.write_saved_model(
                model, codec, os.path.join(FLAGS.output_dir, "saved_model"), record, FLAGS.flip_test
            )
        )
    if "keras" in FLAGS.formats:
        written.append(formats.write_keras(model, os.path.join(FLAGS.output_dir, "pose.keras")))
    if "tflite" in FLAGS.formats:
        reps = (
            representative_crops(manifest, codec, FLAGS.representative_count)
            if "int8" in FLAGS.quantize
            else None
        )
        for q in FLAGS.quantize:
            path = os.path.join(FLAGS.output_dir, f"pose_{q if q != 'none' else 'float32'}.tflite")
            with open(path, "wb") as f:
                f.write(formats.tflite_bytes(model, codec, q, reps, record, FLAGS.flip_test))
            written.append(path)
    if "onnx" in FLAGS.formats:
        written.append(
            formats.write_onnx(
                model, codec, os.path.join(FLAGS.output_dir, "pose.onnx"), record, FLAGS.flip_test
            )
        )
    for path in written:
        logging.info("wrote %s", path)
        print(path)


if __name__ == "__main__":
    app.run(main, flags_parser=cli_help.parse_flags)
