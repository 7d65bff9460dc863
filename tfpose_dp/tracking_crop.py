"""Video without a detector: each frame's person box from the previous frame's keypoints.

The idea of MoveNet's cropping algorithm: once the model has found a person, the next frame's
crop follows the joints it was confident about, so the person fills the model's input instead
of a small part of a wide frame. Here: the box around the confident joints (score >= min_score),
widened by `margin` of its size on each side (limbs move between frames, and the estimator pads
it by 1.25 again), clipped to the frame. With fewer than `min_joints` confident joints (the
person left, or the pose score dropped) the next frame falls back to the whole frame; a frame
seen whole is run again from the box its pose gives (`refine` times), so the crop locks on
without waiting for the next frames.

The default min_score, 0.05, fits SimCC scores (a joint's peak probability over its bins,
~0.1-0.2 at most for a confident joint at 2 bins per pixel), not MoveNet's; with the flip test
`track` uses 0.03, since averaging the two views' logits flattens the peaks (a foot at 0.04
would drop out of the box and the crop would lose the legs). The defaults were chosen on
tools/benchmark_tracking.py's clip (docs/evaluation.md).

>>> crop = TrackingCrop(frame_height=100, frame_width=200)
>>> crop.box.tolist()
[0.0, 0.0, 200.0, 100.0]
>>> pose = np.array([[50, 20, 0.9], [70, 20, 0.9], [50, 60, 0.9], [70, 60, 0.9], [0, 0, 0.01]])
>>> crop.update(pose).tolist()  # 20 x 40 box of joints, +40 % + 1 px each side
[41.0, 3.0, 38.0, 74.0]
>>> crop.update(pose * [1, 1, 0]).tolist()  # nothing confident: the whole frame again
[0.0, 0.0, 200.0, 100.0]
"""

import numpy as np


class TrackingCrop:
    def __init__(self, frame_height, frame_width, margin=0.4, min_score=0.05, min_joints=4):
        self.frame = np.array([0.0, 0.0, float(frame_width), float(frame_height)], np.float32)
        self.margin, self.min_score, self.min_joints = margin, min_score, min_joints
        self.box = self.frame.copy()

    @property
    def whole_frame(self):
        return bool(np.array_equal(self.box, self.frame))

    def update(self, pose):
        """The box for the next frame, from this frame's pose (J, 3) in frame pixels."""
        pose = np.asarray(pose, np.float32)
        confident = pose[pose[:, 2] >= self.min_score, :2]
        if len(confident) < self.min_joints:
            self.box = self.frame.copy()
            return self.box
        lo, hi = confident.min(0), confident.max(0)
        pad = (hi - lo) * self.margin + 1.0  # at least a pixel: joints on one line
        lo = np.maximum(lo - pad, 0.0)
        hi = np.minimum(hi + pad, self.frame[2:])
        self.box = np.concatenate([lo, hi - lo]).astype(np.float32)
        return self.box


def track(estimator, frames, flip_test=True, refine=2, **crop_args):
    """Yields (frame, box, pose (J, 3)) per frame: one person followed by a TrackingCrop."""
    crop_args.setdefault("min_score", 0.03 if flip_test else 0.05)
    crop = None
    for frame in frames:
        if crop is None:
            crop = TrackingCrop(frame.shape[0], frame.shape[1], **crop_args)
        for _ in range(refine + 1):  # again from its own pose while the box is the whole frame
            whole, box = crop.whole_frame, crop.box
            pose = estimator.predict(frame, [box], flip_test)[0]
            crop.update(pose)
            if not whole:
                break
        yield frame, box, pose
