"""Pose of one person in a photo: skeleton overlay PNG + keypoints JSON.

  python -m tfpose_dp.predict --checkpoint=/tmp/run1 --image=photo.jpg --bbox=x,y,w,h \
      --output=out.png

Without --bbox the whole image is the person box (said in the log). Keypoints are written to
<output>.json in original-image pixels (0-based), with per-joint scores.
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf
from absl import app, flags, logging
from PIL import Image

from tfpose_dp.data import transforms
from tfpose_dp.eval.overlay import draw_skeleton

flags.DEFINE_string("checkpoint", None, "Training --model_dir (newest checkpoint) or a ckpt-* dir.")
flags.DEFINE_string("image", None, "Input photo (JPEG/PNG).")
flags.DEFINE_list("bbox", None, "Person box x,y,w,h in pixels; default: the whole image.")
flags.DEFINE_string("output", "pose.png", "Overlay PNG; keypoints go to the same name with .json.")
flags.DEFINE_float("threshold", 0.05, "Joints scoring below this are not drawn.")
flags.DEFINE_bool("flip_test", True, "Average with the mirrored crop.")
FLAGS = flags.FLAGS


def person_box(bbox, input_size):
    """(centre, box size) of the crop for an x,y,w,h box: x1.25 and fixed to the input aspect."""
    centre, size = transforms.bbox_crop(bbox)
    return tf.constant(centre), transforms.fit_aspect(size[0], size[1], input_size)


def predict_keypoints(model, codec, image, bbox, flip_test=True):
    """Returns (keypoints (K, 2) in image pixels, scores (K,)) of the codec's skeleton."""
    from tfpose_dp.eval.flip_test import simcc_logits

    input_size = codec.input_size
    center, box = person_box(bbox, input_size)
    m = transforms.crop_to_image_matrix(center, box, input_size)
    crop = transforms.warp_image(image, m, input_size)[None]
    kp, scores = codec.decode(*simcc_logits(model, crop, codec, flip_test))
    return transforms.transform_points(kp[0], m).numpy(), scores[0].numpy()


def main(argv):
    del argv
    from tfpose_dp.runs.restore import load_trained_model

    try:
        if not FLAGS.checkpoint or not FLAGS.image:
            raise ValueError("give --checkpoint=MODEL_DIR and --image=PHOTO")
        image = np.asarray(Image.open(FLAGS.image).convert("RGB"))
        model, codec, _ = load_trained_model(FLAGS.checkpoint)
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
    keypoints, scores = predict_keypoints(model, codec, image, bbox, FLAGS.flip_test)
    draw_skeleton(image, keypoints, scores, codec.skeleton, FLAGS.threshold).save(FLAGS.output)
    result = {
        "image": os.path.basename(FLAGS.image),
        "bbox": bbox,
        "joints": keypoints.tolist(),
        "scores": scores.tolist(),
        "joint_names": list(codec.skeleton.joint_names),
    }
    json_path = os.path.splitext(FLAGS.output)[0] + ".json"
    with open(json_path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"{FLAGS.output}\n{json_path}")


if __name__ == "__main__":
    app.run(main)
