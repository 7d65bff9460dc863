"""Built-in synthetic people: procedurally drawn figures annotated exactly like MPII.

Each person is a stick-and-volume figure with the 16 MPII joints in MPII order, limb
lengths in human proportions (relative to stature), joint angles within a plausible
range of motion, thick limbs and a head drawn over a cluttered background, at random
scale and position. Some joints are hidden behind an occluder (joints_vis = 0). The
set is written once, as JPEG images plus `train.json` / `valid.json` in the HRNet/mmpose
MPII format (1-based joints, center, scale = height/200) with an added `head_box`, so it
goes through the very same loading pipeline as real MPII.

Everything is a function of (seed, index): the same seed gives the same images, and
train and val use disjoint index ranges.
"""
import hashlib
import json
import math
import os
import shutil
import tempfile

import numpy as np
from PIL import Image, ImageDraw

from tfpose_dp.data.cache_root import cache_root
from tfpose_dp.data.joints import NUM_JOINTS

VERSION = 1
CANVAS = 192  # square image side in pixels

# Lengths as fractions of stature (after anthropometric tables, rounded).
_TORSO, _NECK, _HEAD = 0.29, 0.05, 0.12
_SHOULDER_HALF, _HIP_HALF = 0.11, 0.08
_UPPER_ARM, _FOREARM, _THIGH, _SHIN = 0.17, 0.15, 0.24, 0.24


def _direction(angle):
    """Unit vector; angle 0 points down the image (+y), positive turns towards +x."""
    return np.array([math.sin(angle), math.cos(angle)])


def random_pose(rng, stature):
    """Joint positions (16, 2) of a front-facing person in a frame centred on the pelvis."""
    j = np.zeros((NUM_JOINTS, 2))
    lean = rng.normal(0.0, 0.12)
    up = _direction(math.pi + lean)  # torso axis, pointing up
    side = np.array([-up[1], up[0]])  # towards the person's left (image right when facing us)
    j[6] = 0.0  # pelvis
    j[7] = up * _TORSO * stature  # thorax
    j[8] = j[7] + _direction(math.pi + lean + rng.normal(0, 0.15)) * _NECK * stature
    j[9] = j[8] + _direction(math.pi + lean + rng.normal(0, 0.2)) * _HEAD * stature
    j[12], j[13] = j[7] - side * _SHOULDER_HALF * stature, j[7] + side * _SHOULDER_HALF * stature
    j[2], j[3] = -side * _HIP_HALF * stature, side * _HIP_HALF * stature
    for shoulder, elbow, wrist, sign in ((12, 11, 10, -1.0), (13, 14, 15, 1.0)):
        upper = lean + sign * rng.uniform(-0.3, 2.6)  # arm down (0) to raised overhead
        bend = sign * rng.uniform(0.0, 2.2)  # elbow flexion
        j[elbow] = j[shoulder] + _direction(upper) * _UPPER_ARM * stature
        j[wrist] = j[elbow] + _direction(upper + bend) * _FOREARM * stature
    for hip, knee, ankle, sign in ((2, 1, 0, -1.0), (3, 4, 5, 1.0)):
        thigh = lean * 0.3 + sign * rng.uniform(-0.15, 0.7)
        knee_bend = -sign * rng.uniform(0.0, 1.2) * (rng.random() < 0.5)
        j[knee] = j[hip] + _direction(thigh) * _THIGH * stature
        j[ankle] = j[knee] + _direction(thigh + knee_bend) * _SHIN * stature
    return j


def _clutter(draw, rng, size):
    for _ in range(rng.integers(6, 14)):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x0, y0 = rng.uniform(-20, size, 2)
        w, h = rng.uniform(10, size / 2, 2)
        kind = rng.integers(3)
        if kind == 0:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=colour)
        elif kind == 1:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=colour)
        else:
            draw.line([x0, y0, x0 + w, y0 + h], fill=colour, width=int(rng.integers(1, 6)))


def _draw_person(draw, rng, joints, stature):
    skin = tuple(int(c) for c in rng.integers(120, 256, 3))
    shirt = tuple(int(c) for c in rng.integers(0, 256, 3))
    pants = tuple(int(c) for c in rng.integers(0, 256, 3))
    limb = max(2, int(stature * 0.06))
    pt = lambda k: tuple(float(v) for v in joints[k])  # noqa: E731
    draw.polygon([pt(12), pt(13), pt(3), pt(2)], fill=shirt)
    for a, b in ((2, 1), (1, 0), (3, 4), (4, 5)):
        draw.line([pt(a), pt(b)], fill=pants, width=int(limb * 1.3))
    for a, b in ((12, 11), (13, 14)):
        draw.line([pt(a), pt(b)], fill=shirt, width=limb)
    for a, b in ((11, 10), (14, 15), (7, 8)):
        draw.line([pt(a), pt(b)], fill=skin, width=limb)
    centre = (joints[8] + joints[9]) / 2.0
    r = np.linalg.norm(joints[9] - joints[8]) / 2.0 + 1.0
    draw.ellipse([centre[0] - r * 0.8, centre[1] - r, centre[0] + r * 0.8, centre[1] + r], fill=skin)
    # Eyes mark the facing direction (front-facing: the person's right is on image left).
    eye = centre + (joints[9] - joints[8]) * -0.05
    for dx in (-0.3 * r, 0.3 * r):
        draw.ellipse([eye[0] + dx - 1.5, eye[1] - 1.5, eye[0] + dx + 1.5, eye[1] + 1.5], fill=(0, 0, 0))
    for k in (0, 5, 10, 15):  # hands and feet
        x, y = joints[k]
        draw.ellipse([x - limb * 0.7, y - limb * 0.7, x + limb * 0.7, y + limb * 0.7], fill=skin)


def make_sample(seed, index, size=CANVAS):
    """Returns (PIL image, annotation dict in MPII JSON format) for one synthetic person."""
    rng = np.random.default_rng([seed, index, VERSION])
    image = Image.new("RGB", (size, size), tuple(int(c) for c in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    _clutter(draw, rng, size)
    stature = rng.uniform(0.45, 0.9) * size
    joints = random_pose(rng, stature)
    lo, hi = joints.min(0), joints.max(0)
    offset = rng.uniform(-lo, size - hi) if np.all(size - hi > -lo) else (size - lo - hi) / 2.0
    joints = joints + offset
    _draw_person(draw, rng, joints, stature)
    visible = np.ones(NUM_JOINTS)
    if rng.random() < 0.4:  # an occluder hides a random region
        w, h = rng.uniform(0.15, 0.35, 2) * stature
        x0, y0 = joints[rng.integers(NUM_JOINTS)] - [w / 2, h / 2] + rng.normal(0, stature * 0.05, 2)
        draw.rectangle([x0, y0, x0 + w, y0 + h], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        inside = np.all((joints >= [x0, y0]) & (joints <= [x0 + w, y0 + h]), axis=1)
        visible[inside] = 0
    outside = np.any((joints < 0) | (joints > size - 1), axis=1)
    visible[outside] = 0
    lo, hi = joints.min(0), joints.max(0)
    height = (hi[1] - lo[1]) * 1.1
    scale = height / 200.0
    centre = (lo + hi) / 2.0 - [0.0, 15.0 * scale]  # the loader adds MPII's +15*scale y shift
    head_r = np.linalg.norm(joints[9] - joints[8]) * 0.6
    head_c = (joints[8] + joints[9]) / 2.0
    ann = {
        "image": f"{index:06d}.jpg",
        "center": [float(v) + 1.0 for v in centre],  # MATLAB 1-based, as MPII
        "scale": float(scale),
        "joints": [[float(x) + 1.0, float(y) + 1.0] for x, y in joints],
        "joints_vis": [int(v) for v in visible],
        "head_box": [float(head_c[0] - head_r) + 1.0, float(head_c[1] - head_r) + 1.0,
                     float(head_c[0] + head_r) + 1.0, float(head_c[1] + head_r) + 1.0],
    }
    return image, ann


def _dataset_dir(root, seed, num_train, num_val):
    key = hashlib.sha1(f"v{VERSION}-{seed}-{num_train}-{num_val}-{CANVAS}".encode()).hexdigest()[:10]
    return os.path.join(root, f"synthetic_{key}")


def ensure_synthetic_dataset(num_train=4000, num_val=400, seed=0, root=None):
    """Writes the synthetic set once (atomically) and returns its directory.

    Layout: `<dir>/images/*.jpg`, `<dir>/annotations/train.json`, `<dir>/annotations/valid.json`.
    """
    root = root or cache_root()
    target = _dataset_dir(root, seed, num_train, num_val)
    if os.path.exists(os.path.join(target, "annotations", "valid.json")):
        return target
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".synthetic_tmp_", dir=root)
    try:
        os.makedirs(os.path.join(tmp, "images"))
        os.makedirs(os.path.join(tmp, "annotations"))
        splits = {"train": range(num_train), "valid": range(num_train, num_train + num_val)}
        for split, indices in splits.items():
            anns = []
            for index in indices:
                image, ann = make_sample(seed, index)
                image.save(os.path.join(tmp, "images", ann["image"]), quality=92)
                anns.append(ann)
            with open(os.path.join(tmp, "annotations", f"{split}.json"), "w") as f:
                json.dump(anns, f)
        try:
            os.rename(tmp, target)
        except OSError:
            if not os.path.isdir(target):
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
