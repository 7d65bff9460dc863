"""MPII PCKh (or COCO keypoint AP) evaluation of a trained model or of a predictions file.

  python -m tfpose_dp.evaluate --checkpoint=/tmp/run1                      # its val split
  python -m tfpose_dp.evaluate --checkpoint=/tmp/run1 --data_dir=/data/mpii
  python -m tfpose_dp.evaluate --checkpoint=/tmp/run1 --data_format=coco --data_dir=/data/coco
  python -m tfpose_dp.evaluate --predictions=preds.json --annotations=gt_valid.mat

Prints the MPII table (Head = head top, Shoulder ... Ankle = mean of left and right, Mean =
joint-count weighted PCKh@0.5 without pelvis/thorax, Mean@0.1; `--per_joint` adds the 16
joints) and writes it, per-joint values included, as JSON to --output_json. Predictions
JSON: a list in the annotations' order of
{"image": str, "joints": [[x, y] x 16], "scores": [16] (optional)}, 0-based original pixels.
COCO keypoints data (the run's --data_format, or the flag) are scored with OKS AP / AP50 /
AP75 / AR on the ground-truth boxes (pycocotools; eval/oks_ap.py).
"""

import json
import sys

import numpy as np
from absl import app, flags, logging

from tfpose_dp import cli_help, config_flags
from tfpose_dp.eval.pckh import format_table, pckh_table

flags.DEFINE_string("checkpoint", None, "Training --model_dir (newest checkpoint) or a ckpt-* dir.")
flags.DEFINE_string("split", "valid", "Split of --data_dir (or of the synthetic set) to score.")
flags.DEFINE_bool("flip_test", True, "Average logits of the crop and of its mirror image.")
flags.DEFINE_string("predictions", None, "Score this predictions JSON instead of a model.")
flags.DEFINE_string(
    "annotations", None, "With --predictions: gt_valid.mat or our JSON with head_box."
)
flags.DEFINE_string("output_json", None, "Write the table here (per-joint values included).")
flags.DEFINE_bool("per_joint", False, "Also print PCKh@0.5 of each of the 16 joints.")
config_flags.define_flags("data")  # --data_dir / --synthetic_*: score another data set
config_flags.define_flags("runtime", only=("eval_batch_size",))
FLAGS = flags.FLAGS


def _score_predictions():
    from tfpose_dp.eval.ground_truth import load_ground_truth

    if not FLAGS.annotations:
        raise ValueError("--predictions needs --annotations (gt_valid.mat or a JSON with head_box)")
    images, joints, visible, heads = load_ground_truth(FLAGS.annotations)
    with open(FLAGS.predictions) as f:
        preds = json.load(f)
    if len(preds) != len(joints):
        raise ValueError(
            f"{FLAGS.predictions} has {len(preds)} predictions for {len(joints)} annotated "
            "persons: they must be in the same order, one per person"
        )
    if images is not None:
        wrong = [
            i for i, (p, name) in enumerate(zip(preds, images)) if p.get("image", name) != name
        ]
        if wrong:
            raise ValueError(
                f"prediction {wrong[0]} is for {preds[wrong[0]]['image']!r} but the "
                f"annotation is {images[wrong[0]]!r}: keep the annotations' order"
            )
    pred = np.array([p["joints"] for p in preds], np.float64)
    if pred.shape[1:] != (16, 2):
        raise ValueError(f"predictions must hold 16 [x, y] joints each, got {pred.shape[1:]}")
    return pckh_table(pred, joints, visible, heads, per_joint=True)


def _score_model():

    from tfpose_dp.data.pipeline import eval_dataset
    from tfpose_dp.eval.oks_ap import ap_table
    from tfpose_dp.eval.predictions import evaluate_pckh, predict_dataset
    from tfpose_dp.eval.scores import uses_oks
    from tfpose_dp.runs.restore import load_trained_model, run_split

    model, codec, manifest = load_trained_model(FLAGS.checkpoint)
    synthetic = None  # the run's own data, unless the flags ask for another synthetic set
    if any(
        FLAGS[name].present
        for name in ("synthetic_domain", "synthetic_train", "synthetic_val", "synthetic_seed")
    ):
        synthetic = (
            FLAGS.synthetic_train,
            FLAGS.synthetic_val,
            FLAGS.synthetic_seed,
            FLAGS.synthetic_domain,
        )
    data_format = (
        FLAGS.data_format if FLAGS["data_format"].present else manifest.config.data.data_format
    )
    named_file = FLAGS.train_annotations if FLAGS.split == "train" else FLAGS.val_annotations
    records, root = run_split(
        manifest.config,
        FLAGS.split,
        FLAGS.data_dir,
        FLAGS.synthetic_root,
        synthetic,
        data_format,
        named_file,
        FLAGS.image_dir,
    )
    logging.info(
        "Scoring %s (%s) on %d persons of %s, flip test %s",
        FLAGS.checkpoint,
        manifest.config.method,
        len(records),
        root,
        FLAGS.flip_test,
    )
    dataset = eval_dataset(records, manifest.config.model.input_size, codec, FLAGS.eval_batch_size)
    if uses_oks(records):
        r = predict_dataset(model, dataset, codec, FLAGS.flip_test)
        return ap_table(records, r["pred"], r["scores"], r["index"], codec.skeleton)
    return evaluate_pckh(model, dataset, codec, flip_test=FLAGS.flip_test, per_joint=True)


def main(argv):
    del argv
    try:
        if FLAGS.predictions:
            table = _score_predictions()
        elif FLAGS.checkpoint:
            table = _score_model()
        else:
            raise ValueError("give --checkpoint=MODEL_DIR or --predictions=FILE --annotations=FILE")
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    if "Mean" in table:
        shown = table if FLAGS.per_joint else {k: v for k, v in table.items() if k != "per_joint"}
        print(format_table(shown))
    else:  # COCO keypoint AP
        print(" | ".join(f"{k:>6}" for k in table))
        print(" | ".join(f"{v:6.2f}" for v in table.values()))
    if FLAGS.output_json:
        with open(FLAGS.output_json, "w") as f:
            json.dump(table, f, indent=1)


if __name__ == "__main__":
    app.run(main, flags_parser=cli_help.parse_flags)
