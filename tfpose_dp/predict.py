"""Poses in photos and videos: COCO keypoint results JSON + skeleton overlays.

  python -m tfpose_dp.predict --checkpoint=/tmp/run1 --image=photos/ \
      --detections=detections.json --output_dir=poses
  python -m tfpose_dp.predict --checkpoint=preset:public_micro --video=walk.mp4 --output_dir=poses
  python -m tfpose_dp.predict --model=export/pose_float32.tflite --image=photo.jpg \
      --boxes="10,20,200,400;300,40,180,380"

The model: a training MODEL_DIR, a preset, or an exported model (SavedModel, .tflite, .onnx:
the same crops and decoding). Photos (`--image`: a file, a folder or a glob) are read upright
(EXIF orientation). Person boxes come from `--detections` (COCO detection results, as mmdet,
ultralytics or detectron2 write them; boxes under `--det_score_threshold` are dropped) or
`--boxes`; without either, one person fills the frame, except in a video, where a tracking crop
follows the person (tracking_crop.py). `--output_json` gets COCO keypoint results (x, y, score
per joint; image_id = the file's stem, or the frame number), which pycocotools' loadRes reads;
`--output_dir` an overlay per photo, or an annotated video. Same as
`tfpose_dp.load(model).predict(image, boxes)` in Python.
"""

import json
import os
import sys
import time

import numpy as np
from absl import app, flags, logging

from tfpose_dp import cli_help

flags.DEFINE_string("checkpoint", None, "MODEL_DIR, ckpt-* dir, preset:NAME or exported model.")
flags.DEFINE_alias("model", "checkpoint")
flags.DEFINE_string("image", None, "A photo, a folder of photos or a glob.")
flags.DEFINE_string("video", None, "A video file (needs the video extra).")
flags.DEFINE_string("boxes", None, "Person boxes 'x,y,w,h;x,y,w,h' in pixels, for every input.")
flags.DEFINE_string("detections", None, "COCO detection-results JSON with the person boxes.")
flags.DEFINE_float("det_score_threshold", 0.3, "Detections scoring below this are dropped.")
flags.DEFINE_string("output_dir", "poses", "Overlays (and the annotated video) go here.")
flags.DEFINE_string("output_json", None, "COCO keypoint results; default OUTPUT_DIR/keypoints.json")
flags.DEFINE_float("threshold", 0.05, "Joints scoring below this are not drawn.")
flags.DEFINE_bool("flip_test", True, "Average with the mirrored crop.")
FLAGS = flags.FLAGS


def parse_boxes(text):
    """'x,y,w,h;x,y,w,h' -> (n, 4) float32."""
    try:
        boxes = np.array([[float(v) for v in b.split(",")] for b in text.split(";") if b], "f4")
    except ValueError as e:
        raise ValueError(f"--boxes={text!r}: write boxes as x,y,w,h;x,y,w,h") from e
    if boxes.ndim != 2 or boxes.shape[1] != 4 or (boxes[:, 2:] <= 0).any():
        raise ValueError(f"--boxes={text!r}: each box is x,y,w,h with w, h > 0")
    return boxes


def _draw(frame, poses, skeleton):
    from tfpose_dp.eval.overlay import draw_skeleton

    canvas = frame
    for pose in poses:
        canvas = np.asarray(
            draw_skeleton(canvas, pose[:, :2], pose[:, 2], skeleton, FLAGS.threshold)
        )
    return canvas


def _boxes_for(path, frame, fixed, detections):
    """(boxes, detection scores or None) of one input."""
    if detections is not None:
        return detections.for_image(path)
    if fixed is not None:
        return fixed, None
    return np.array([[0, 0, frame.shape[1], frame.shape[0]]], np.float32), None


def run_photos(est, fixed, detections):
    from PIL import Image

    from tfpose_dp.coco_results import image_id_of, keypoint_results
    from tfpose_dp.photo_files import expand, read_rgb

    results, failed = [], []
    for path in expand(FLAGS.image):
        try:
            frame = read_rgb(path)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)  # the other photos go on
            failed.append(path)
            continue
        boxes, scores = _boxes_for(path, frame, fixed, detections)
        if fixed is None and detections is None:
            logging.info("%s: no boxes given, the whole image is one person", path)
        poses = est.predict(frame, boxes, FLAGS.flip_test)
        results += keypoint_results(image_id_of(path), poses, boxes, scores)
        stem = os.path.splitext(os.path.basename(path))[0]
        overlay = os.path.join(FLAGS.output_dir, f"{stem}_pose.png")
        Image.fromarray(_draw(frame, poses, est.codec.skeleton)).save(overlay)
        print(f"{path}: {len(poses)} person(s) -> {overlay}")
    return results, failed


def run_video(est, fixed):
    from tfpose_dp.coco_results import keypoint_results
    from tfpose_dp.tracking_crop import track
    from tfpose_dp.video_files import read_frames, write_video

    fps, frames = read_frames(FLAGS.video)
    results, drawn, start = [], [], time.perf_counter()
    if fixed is None:  # one person, followed by the tracking crop
        for index, (frame, box, pose) in enumerate(track(est, frames, FLAGS.flip_test)):
            results += keypoint_results(index, pose[None], box[None])
            drawn.append(_draw(frame, pose[None], est.codec.skeleton))
    else:
        for index, frame in enumerate(frames):
            poses = est.predict(frame, fixed, FLAGS.flip_test)
            results += keypoint_results(index, poses, fixed)
            drawn.append(_draw(frame, poses, est.codec.skeleton))
    seconds = time.perf_counter() - start
    stem = os.path.splitext(os.path.basename(FLAGS.video))[0]
    out = os.path.join(FLAGS.output_dir, f"{stem}_pose.mp4")
    write_video(out, drawn, fps)
    print(f"{FLAGS.video}: {len(drawn)} frames, {len(drawn) / seconds:.1f} fps -> {out}")
    return results, []


def main(argv):
    del argv
    from tfpose_dp.coco_results import Detections
    from tfpose_dp.pose_estimator import load

    try:
        if not FLAGS.checkpoint or bool(FLAGS.image) == bool(FLAGS.video):
            raise ValueError("give --checkpoint (or --model) and one of --image or --video")
        if FLAGS.detections and FLAGS.boxes:
            raise ValueError("give --boxes or --detections, not both")
        fixed = parse_boxes(FLAGS.boxes) if FLAGS.boxes else None
        detections = None
        if FLAGS.detections:
            detections = Detections.from_file(FLAGS.detections, FLAGS.det_score_threshold)
        est = load(FLAGS.checkpoint)
        os.makedirs(FLAGS.output_dir, exist_ok=True)
        if FLAGS.video:
            if detections is not None:
                raise ValueError("--detections is for photos; a video takes --boxes or tracks")
            results, failed = run_video(est, fixed)
        else:
            results, failed = run_photos(est, fixed, detections)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    json_path = FLAGS.output_json or os.path.join(FLAGS.output_dir, "keypoints.json")
    with open(json_path, "w") as f:
        json.dump(results, f)
    print(f"{len(results)} skeleton(s) -> {json_path} (joints: {', '.join(est.joint_names)})")
    if failed:
        print(
            f"error: {len(failed)} input(s) could not be read: {', '.join(failed)}", file=sys.stderr
        )
        sys.exit(1)


if __name__ == "__main__":
    app.run(main, flags_parser=cli_help.parse_flags)
