"""The private synthetic domain: people as a clinic's or a home monitor's camera sees them.

It differs from the public people (front-facing, standing, bright clutter) the way clinical
footage differs from web photos: side and back views, seated and lying patients (in bed,
often under a blanket that hides the legs), other body proportions and loose gowns, plain
textured walls and floors with furniture, pale low-contrast colours, sensor noise and blur.
The labels follow MPII's conventions (a back view has the person's right on the image right).
"""

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tfpose_dp.data import synthetic_body as body
from tfpose_dp.skeleton import NUM_JOINTS

VERSION = 2  # part of the cached set's name: bump it when the scenes change

POSTURES = ("front", "side_standing", "seated", "lying", "back")
# Front-facing patients (gait, exercises) are common, the others are what web photos lack;
# measured with the public model (flags/public_pretrain.cfg) on 300 val people of each
# posture: PCKh@0.5 72 front, 26 side, 14 seated, 2 lying, 12 back (89.7 on public val).
_POSTURE_P = (0.4, 0.25, 0.15, 0.1, 0.1)
_GOWN_SPREAD = 18.0  # colour distance of a gown from the wall: low contrast


def _colour(rng, base, spread):
    return tuple(int(np.clip(c, 0, 255)) for c in np.asarray(base) + rng.normal(0, spread, 3))


def _room(draw, rng, size):
    """Wall above a floor line, a faint texture (tiles or stripes), returns the wall colour."""
    wall = np.array(_colour(rng, (200, 205, 200), 25))
    floor = np.array(_colour(rng, wall * 0.8, 20))
    horizon = rng.uniform(0.5, 0.85) * size
    draw.rectangle([0, 0, size, horizon], fill=tuple(int(c) for c in wall))
    draw.rectangle([0, horizon, size, size], fill=tuple(int(c) for c in floor))
    step = int(rng.integers(8, 24))
    tint = tuple(int(c) for c in np.clip(wall - rng.uniform(8, 20), 0, 255))
    if rng.random() < 0.5:
        for x in range(0, size, step):
            draw.line([x, 0, x, horizon], fill=tint, width=1)
    else:
        for y in range(int(horizon), size, step):
            draw.line([0, y, size, y], fill=tint, width=1)
    return wall


def _pose(rng, stature, posture):
    facing = 1.0 if rng.random() < 0.5 else -1.0
    legs = rng.uniform(0.8, 1.0)
    if posture == "side_standing":
        return body.side_pose(rng, stature, facing, legs=legs)
    if posture == "seated":
        return body.side_pose(rng, stature, facing, seated=True, legs=legs)
    if posture == "back":
        return body.back_pose(rng, stature)
    if posture == "front":
        return body.random_pose(rng, stature)
    flat = (
        body.side_pose(rng, stature, facing, legs=legs)
        if rng.random() < 0.5
        else body.random_pose(rng, stature)
    )
    return body.rotate(
        flat, (math.pi / 2) * (1 if rng.random() < 0.5 else -1) + rng.normal(0, 0.15)
    )


def _draw_patient(draw, rng, joints, stature, wall, posture):
    gown = _colour(rng, wall + rng.normal(0, 10, 3), _GOWN_SPREAD)  # pale, close to the wall
    skin = _colour(rng, (190, 160, 140), 30)
    trousers = _colour(rng, gown, 25)
    limb = max(2, int(stature * rng.uniform(0.07, 0.1)))  # loose clothes: thicker limbs
    hair = _colour(rng, (90, 70, 50), 40) if posture == "back" else skin  # a back view shows hair
    body.draw_figure(draw, joints, limb, gown, trousers, skin, hair, bulk=True)
    for k in (0, 5, 10, 15):
        x, y = joints[k]
        draw.ellipse([x - limb * 0.6, y - limb * 0.6, x + limb * 0.6, y + limb * 0.6], fill=skin)


def _furniture(draw, rng, joints, stature, posture, wall):
    """A chair behind a seated person, a bed under a lying one; returns a blanket box or None."""
    colour = _colour(rng, wall * 0.7, 25)
    lo, hi = joints.min(0), joints.max(0)
    if posture == "seated":
        hips = joints[[2, 3]].mean(0)
        draw.rectangle(
            [hips[0] - 0.2 * stature, hips[1], hips[0] + 0.2 * stature, hips[1] + 0.05 * stature],
            fill=colour,
        )
    if posture == "lying":
        draw.rectangle(
            [
                lo[0] - 0.1 * stature,
                hi[1] - 0.02 * stature,
                hi[0] + 0.1 * stature,
                hi[1] + 0.12 * stature,
            ],
            fill=colour,
        )
        if rng.random() < 0.6:  # a blanket from the hips to beyond the feet
            hips = joints[[2, 3]].mean(0)
            feet = joints[[0, 5]].mean(0)
            x0, x1 = sorted([hips[0], feet[0] + np.sign(feet[0] - hips[0]) * 0.1 * stature])
            y0, y1 = lo[1] - 0.06 * stature, hi[1] + 0.04 * stature
            return [x0, y0, x1, y1]
    return None


def clinic_scene(rng, size):
    """(PIL image, joints (16, 2) in pixels, visible (16,)) of one private-domain person."""
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    wall = _room(draw, rng, size)
    posture = POSTURES[rng.choice(len(POSTURES), p=_POSTURE_P)]
    stature = rng.uniform(0.5, 0.9) * size * (0.75 if posture == "seated" else 1.0)
    joints = _pose(rng, stature, posture)
    lo, hi = joints.min(0), joints.max(0)
    offset = rng.uniform(-lo, size - hi) if np.all(size - hi > -lo) else (size - lo - hi) / 2.0
    joints = joints + offset
    blanket = _furniture(draw, rng, joints, stature, posture, wall)
    _draw_patient(draw, rng, joints, stature, wall, posture)
    visible = np.ones(NUM_JOINTS)
    occluders = [blanket] if blanket is not None else []
    if rng.random() < 0.4:  # a bed rail, a table, a nurse's arm
        w, h = rng.uniform(0.15, 0.35, 2) * stature
        x0, y0 = (
            joints[rng.integers(NUM_JOINTS)] - [w / 2, h / 2] + rng.normal(0, stature * 0.05, 2)
        )
        occluders.append([x0, y0, x0 + w, y0 + h])
    for box in occluders:
        draw.rectangle(box, fill=_colour(rng, wall * 0.9, 30))
        inside = np.all((joints >= box[:2]) & (joints <= box[2:]), axis=1)
        visible[inside] = 0
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    pixels = np.asarray(image, np.float32) * rng.uniform(0.55, 1.0)  # dim rooms
    pixels += rng.normal(0, rng.uniform(3, 10), pixels.shape)  # sensor noise
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return image, joints, visible
