"""Pose of one person in a photo: skeleton overlay PNG + keypoints JSON.

  python -m tfpose_dp.predict --checkpoint=/tmp/run1 --image=photo.jpg --bbox=x,y,w,h \
      --output=out.png

The same as `tfpose_dp.load(checkpoint).predict(image, [bbox])` (pose_estimator.py), which
takes any number of boxes.

Without --bbox the whole image is the person box (said in the log). Keypoints are written to
<output>.json in original-image pixels (0-based), with per-joint scores.
"""

import json
import os
import sys

import numpy as np
from absl import app, flags, logging
from PIL import Image

from tfpose_dp.eval.overlay import draw_skeleton

flags.DEFINE_string("checkpoint", None, "Training --model_dir (newest checkpoint) or a ckpt-* dir.")
flags.DEFINE_string("image", None, "Input photo (JPEG/PNG).")
flags.DEFINE_list("bbox", None, "Person box x,y,w,h in pixels; default: the whole image.")
flags.DEFINE_string("output", "pose.png", "Overlay PNG; keypoints go to the same name with .json.")
flags.DEFINE_float("threshold", 0.05, "Joints scoring below this are not drawn.")
flags.DEFINE_bool("flip_test", True, "Average with the mirrored crop.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from tfpose_dp.pose_estimator import load

    try:
        if not FLAGS.checkpoint or not FLAGS.image:
            raise ValueError("give --checkpoint=MODEL_DIR and --image=PHOTO")
        image = np.asarray(Image.open(FLAGS.image).convert("RGB"))
        est = load(FLAGS.checkpoint)
        if FLAGS.bbox:
            bbox = [float(v) for v in FLAGS.bbox]
            if len(bbox) != 4 or bbox[2] <= 0 or bbox[3] <= 0:
                raise ValueError(f"--bbox={','.join(FLAGS.bbox)} must be x,y,w,h with w, h > 0")
        else:
            bbox = [0.0, 0.0, float(image.shape[1]), float(image.shape[0])]
            logging.info(
                "No --bbox: using the whole image (%dx%d) as the person box",
                image.shape[1],
                image.shape[0],
            )
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    pose = est.predict(image, [bbox], FLAGS.flip_test)[0]
    keypoints, scores = pose[:, :2], pose[:, 2]
    draw_skeleton(image, keypoints, scores, est.codec.skeleton, FLAGS.threshold).save(FLAGS.output)
    result = {
        "image": os.path.basename(FLAGS.image),
        "bbox": bbox,
        "joints": keypoints.tolist(),
        "scores": scores.tolist(),
        "joint_names": est.joint_names,
    }
    json_path = os.path.splitext(FLAGS.output)[0] + ".json"
    with open(json_path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"{FLAGS.output}\n{json_path}")


if __name__ == "__main__":
    app.run(main)
