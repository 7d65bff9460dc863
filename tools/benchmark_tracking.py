"""Video without a detector: the tracking crop against the whole frame, on a synthetic clip.

  python tools/benchmark_tracking.py --checkpoint=preset:public_micro --frames=48

Prints one JSON line: mean error of the visible joints in pixels (against the clip's
ground-truth path; all frames, and from frame 8 on, once the crop has locked on) and frames
per second, for each way of choosing the box.
"""

import json
import time

import numpy as np
from absl import app, flags

import tfpose_dp
from tfpose_dp.data.synthetic_clip import moving_person_clip
from tfpose_dp.tracking_crop import track

flags.DEFINE_string("checkpoint", "preset:public_micro", "Model to run.")
flags.DEFINE_integer("frames", 48, "Frames of the clip.")
flags.DEFINE_bool("flip_test", True, "Flip test in each frame.")
FLAGS = flags.FLAGS


def measure(est, clip, truth, visible, flip_test):
    """{tracking, whole_frame: (mean joint error px, the same from frame 8 on, fps)}."""
    out = {}
    whole = [np.array([[0, 0, f.shape[1], f.shape[0]]], np.float32) for f in clip]
    runs = {
        "tracking": lambda: [p for _, _, p in track(est, clip, flip_test)],
        "whole_frame": lambda: [est.predict(f, b, flip_test)[0] for f, b in zip(clip, whole)],
    }
    for name, run in runs.items():
        start = time.perf_counter()
        poses = np.stack(run())
        seconds = time.perf_counter() - start
        error = np.linalg.norm(poses[:, visible, :2] - truth[:, visible], axis=-1).mean(1)
        out[name] = (float(error.mean()), float(error[8:].mean()), len(clip) / seconds)
    return out


def main(argv):
    del argv
    est = tfpose_dp.load(FLAGS.checkpoint)
    clip, truth, visible = moving_person_clip(FLAGS.frames)
    est.predict(clip[0], flip_test=FLAGS.flip_test)  # trace once, outside the timing
    result = measure(est, clip, truth, visible, FLAGS.flip_test)
    print(
        json.dumps(
            {
                "frames": FLAGS.frames,
                "frame_size": list(clip.shape[1:3]),
                **{f"{k}_error_px": v[0] for k, v in result.items()},
                **{f"{k}_error_px_from_frame_8": v[1] for k, v in result.items()},
                **{f"{k}_fps": v[2] for k, v in result.items()},
            }
        )
    )


if __name__ == "__main__":
    app.run(main)
