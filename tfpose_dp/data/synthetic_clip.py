"""A video of one built-in person walking across a wider frame, with its ground-truth joints:
what the tracking crop (tracking_crop.py) is measured on (tools/benchmark_tracking.py)."""

import numpy as np

from tfpose_dp.data.synthetic import CANVAS, make_sample


def moving_person_clip(frames=24, width=480, height=320, seed=0, index=0):
    """(frames (T, H, W, 3) uint8, joints (T, J, 2) 0-based pixels, visible (J,)).

    The person's image (CANVAS x CANVAS) slides left to right and bobs up and down over a
    grey frame, one position per frame, so the truth is the drawn joints plus the offset.
    """
    image, ann = make_sample(seed, index)
    person = np.asarray(image)
    joints = np.array(ann["joints"], np.float32) - 1.0
    xs = np.linspace(0, width - CANVAS, frames)
    ys = (height - CANVAS) / 2 * (1 + 0.5 * np.sin(np.linspace(0, 2 * np.pi, frames)))
    clip = np.full((frames, height, width, 3), 128, np.uint8)
    truth = np.zeros((frames, *joints.shape), np.float32)
    for t, (x, y) in enumerate(zip(xs.round().astype(int), ys.round().astype(int))):
        clip[t, y : y + CANVAS, x : x + CANVAS] = person
        truth[t] = joints + [x, y]
    return clip, truth, np.array(ann["joints_vis"], bool)
