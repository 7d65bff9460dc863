"""Built-in synthetic people: procedurally drawn figures annotated exactly like MPII.

Two domains, for the public-pretraining / private-fine-tuning regime:
* `public` (default): a stick-and-volume figure with the 16 MPII joints in MPII order, limb
  lengths in human proportions (relative to stature), joint angles within a plausible range
  of motion, thick limbs and a head drawn front-facing and standing over a bright cluttered
  background, at random scale and position; some joints hidden behind an occluder.
* `private`: the same bodies as a clinic's camera sees them (synthetic_clinic.py): side and
  back views, seated and lying postures, blankets, low contrast, noise and blur.
Occluded joints have joints_vis = 0. A set is written once, as JPEG images plus `train.json`
/ `valid.json` in the HRNet/mmpose MPII format (1-based joints, center, scale = extent/200)
with an added `head_box`, so it goes through the very same loading pipeline as real MPII.

Everything is a function of (domain, seed, index): the same seed gives the same images, and
train and val use disjoint index ranges.
"""

import hashlib
import json
import multiprocessing
import os

import numpy as np
from PIL import Image, ImageDraw

from tfpose_dp.data import synthetic_clinic
from tfpose_dp.data.cache_root import cache_root, write_folder_once
from tfpose_dp.data.synthetic_body import draw_figure, random_pose
from tfpose_dp.data.synthetic_clinic import clinic_scene
from tfpose_dp.skeleton import NUM_JOINTS

DOMAINS = ("public", "private")

VERSION = 1
CANVAS = 192  # square image side in pixels


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
    centre, r = draw_figure(draw, joints, limb, shirt, pants, skin, skin)
    # Eyes mark the facing direction (front-facing: the person's right is on image left).
    eye = centre + (joints[9] - joints[8]) * -0.05
    for dx in (-0.3 * r, 0.3 * r):
        draw.ellipse(
            [eye[0] + dx - 1.5, eye[1] - 1.5, eye[0] + dx + 1.5, eye[1] + 1.5], fill=(0, 0, 0)
        )
    for k in (0, 5, 10, 15):  # hands and feet
        x, y = joints[k]
        draw.ellipse([x - limb * 0.7, y - limb * 0.7, x + limb * 0.7, y + limb * 0.7], fill=skin)


def _public_scene(rng, size):
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
        x0, y0 = (
            joints[rng.integers(NUM_JOINTS)] - [w / 2, h / 2] + rng.normal(0, stature * 0.05, 2)
        )
        draw.rectangle(
            [x0, y0, x0 + w, y0 + h], fill=tuple(int(c) for c in rng.integers(0, 256, 3))
        )
        inside = np.all((joints >= [x0, y0]) & (joints <= [x0 + w, y0 + h]), axis=1)
        visible[inside] = 0
    return image, joints, visible


def make_sample(seed, index, size=CANVAS, domain="public"):
    """Returns (PIL image, annotation dict in MPII JSON format) for one synthetic person."""
    if domain == "public":
        image, joints, visible = _public_scene(np.random.default_rng([seed, index, VERSION]), size)
    elif domain == "private":
        image, joints, visible = clinic_scene(
            np.random.default_rng([seed, index, VERSION, 0xC11]), size
        )
    else:
        raise ValueError(f"synthetic domain must be one of {DOMAINS}, got {domain!r}")
    outside = np.any((joints < 0) | (joints > size - 1), axis=1)
    visible[outside] = 0
    lo, hi = joints.min(0), joints.max(0)
    height = (hi[1] - lo[1]) * 1.1
    if domain == "private":  # lying people: the box must hold their width at the 3:4 crop aspect
        height = max(height, (hi[0] - lo[0]) * 1.1 / 0.75)
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
        "head_box": [
            float(head_c[0] - head_r) + 1.0,
            float(head_c[1] - head_r) + 1.0,
            float(head_c[0] + head_r) + 1.0,
            float(head_c[1] + head_r) + 1.0,
        ],
    }
    return image, ann


def _dataset_dir(root, seed, num_train, num_val, domain):
    # Public sets keep their cached names; private ones carry the scene version.
    suffix = "" if domain == "public" else f"-{domain}{synthetic_clinic.VERSION}"
    key = hashlib.sha1(
        f"v{VERSION}-{seed}-{num_train}-{num_val}-{CANVAS}{suffix}".encode()
    ).hexdigest()[:10]
    return os.path.join(root, f"synthetic_{key}")


def _write_range(args):
    seed, start, stop, domain, folder = args
    anns = []
    for index in range(start, stop):
        image, ann = make_sample(seed, index, domain=domain)
        image.save(os.path.join(folder, ann["image"]), quality=92)
        anns.append(ann)
    return anns


def _write_images(seed, indices, domain, folder):
    """Draws and saves the images of `indices`; returns their annotations in order. Large sets
    are drawn by one process per core (each image is a function of its index alone)."""
    workers = min(os.cpu_count() or 1, 8) if len(indices) >= 4000 else 1
    bounds = np.linspace(indices.start, indices.stop, workers * 4 + 1).astype(int)
    tasks = [(seed, a, b, domain, folder) for a, b in zip(bounds[:-1], bounds[1:])]
    if workers == 1:
        return [ann for task in tasks for ann in _write_range(task)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:  # no TF state in children
        return [ann for part in pool.map(_write_range, tasks) for ann in part]


def ensure_synthetic_dataset(num_train=4000, num_val=400, seed=0, root=None, domain="public"):
    """Writes the synthetic set of `domain` once (atomically) and returns its directory.

    Layout: `<dir>/images/*.jpg`, `<dir>/annotations/train.json`, `<dir>/annotations/valid.json`.
    """
    root = root or cache_root()
    if domain not in DOMAINS:
        raise ValueError(f"--synthetic_domain must be one of {DOMAINS}, got {domain!r}")
    target = _dataset_dir(root, seed, num_train, num_val, domain)
    if os.path.exists(os.path.join(target, "annotations", "valid.json")):
        return target

    def fill(tmp):
        os.makedirs(os.path.join(tmp, "images"))
        os.makedirs(os.path.join(tmp, "annotations"))
        splits = {"train": range(num_train), "valid": range(num_train, num_train + num_val)}
        for split, indices in splits.items():
            anns = _write_images(seed, indices, domain, os.path.join(tmp, "images"))
            with open(os.path.join(tmp, "annotations", f"{split}.json"), "w") as f:
                json.dump(anns, f)

    return write_folder_once(target, fill, ".synthetic_tmp_")
