"""Body geometry shared by the synthetic domains: proportions and poses in MPII joint order.

Poses are (16, 2) arrays in a frame centred on the pelvis, image axes (y grows down), with
limb lengths as fractions of stature (after anthropometric tables, rounded).
"""

import math

import numpy as np

from tfpose_dp.skeleton import NUM_JOINTS

TORSO, NECK, HEAD = 0.29, 0.05, 0.12
SHOULDER_HALF, HIP_HALF = 0.11, 0.08
UPPER_ARM, FOREARM, THIGH, SHIN = 0.17, 0.15, 0.24, 0.24

ARMS = ((12, 11, 10, -1.0), (13, 14, 15, 1.0))  # (shoulder, elbow, wrist, side) right then left
LEGS = ((2, 1, 0, -1.0), (3, 4, 5, 1.0))  # (hip, knee, ankle, side)


def direction(angle):
    """Unit vector; angle 0 points down the image (+y), positive turns towards +x."""
    return np.array([math.sin(angle), math.cos(angle)])


def _trunk(rng, stature, lean, width=1.0):
    """Pelvis, thorax, neck, head top; shoulders and hips `width` x the front-view widths."""
    j = np.zeros((NUM_JOINTS, 2))
    up = direction(math.pi + lean)  # torso axis, pointing up
    side = np.array([-up[1], up[0]])  # towards the person's left (image right when facing us)
    j[7] = up * TORSO * stature
    j[8] = j[7] + direction(math.pi + lean + rng.normal(0, 0.15)) * NECK * stature
    j[9] = j[8] + direction(math.pi + lean + rng.normal(0, 0.2)) * HEAD * stature
    j[12], j[13] = (
        j[7] - side * SHOULDER_HALF * width * stature,
        j[7] + side * SHOULDER_HALF * width * stature,
    )
    j[2], j[3] = -side * HIP_HALF * width * stature, side * HIP_HALF * width * stature
    return j


def random_pose(rng, stature):
    """A front-facing standing person (the public domain)."""
    lean = rng.normal(0.0, 0.12)
    j = _trunk(rng, stature, lean)
    for shoulder, elbow, wrist, sign in ARMS:
        upper = lean + sign * rng.uniform(-0.3, 2.6)  # arm down (0) to raised overhead
        bend = sign * rng.uniform(0.0, 2.2)  # elbow flexion
        j[elbow] = j[shoulder] + direction(upper) * UPPER_ARM * stature
        j[wrist] = j[elbow] + direction(upper + bend) * FOREARM * stature
    for hip, knee, ankle, sign in LEGS:
        thigh = lean * 0.3 + sign * rng.uniform(-0.15, 0.7)
        knee_bend = -sign * rng.uniform(0.0, 1.2) * (rng.random() < 0.5)
        j[knee] = j[hip] + direction(thigh) * THIGH * stature
        j[ankle] = j[knee] + direction(thigh + knee_bend) * SHIN * stature
    return j


def side_pose(rng, stature, facing, seated=False, legs=1.0):
    """A person in profile facing image +x (facing=1) or -x (-1), standing or seated on a chair.

    Limbs swing in the sagittal plane; the far shoulder and hip sit just behind the near ones.
    `legs` scales the leg lengths (other proportions than the public people's).
    """
    lean = facing * rng.normal(0.1 if seated else 0.0, 0.1)
    j = _trunk(rng, stature, lean, width=0.18)
    for shoulder, elbow, wrist, _ in ARMS:
        upper = facing * rng.uniform(-0.4, 1.8)  # hanging to reaching forward
        bend = facing * rng.uniform(0.0, 1.9)
        j[elbow] = j[shoulder] + direction(lean + upper) * UPPER_ARM * stature
        j[wrist] = j[elbow] + direction(lean + upper + bend) * FOREARM * stature
    for hip, knee, ankle, _ in LEGS:
        if seated:  # thigh forward on the seat, shin down
            thigh = facing * (math.pi / 2 + rng.normal(0, 0.15))
            shin = facing * rng.normal(0.1, 0.2)
        else:
            thigh = facing * rng.uniform(-0.35, 0.5)
            shin = thigh - facing * rng.uniform(0.0, 0.9)  # the knee bends backwards
        j[knee] = j[hip] + direction(thigh) * THIGH * legs * stature
        j[ankle] = j[knee] + direction(shin) * SHIN * legs * stature
    return j


def back_pose(rng, stature):
    """A standing person seen from behind: the front pose mirrored, so the person's right
    side is on the image right (the labels follow the body, not the image)."""
    j = random_pose(rng, stature)
    j[:, 0] = -j[:, 0]
    return j


def rotate(joints, angle):
    """Rotates a pose about the pelvis (e.g. a person lying in bed)."""
    c, s = math.cos(angle), math.sin(angle)
    return joints @ np.array([[c, s], [-s, c]])


def draw_figure(draw, joints, limb, top, bottom, skin, head, bulk=False):
    """Paints torso, legs, arms and head (PIL `draw`); returns the head's (centre, radius).

    `top` colours torso and upper arms, `bottom` the legs; `bulk` adds a thick neck-to-thorax
    stroke (loose clothes seen in profile). Hands, feet and faces are the caller's.
    """
    pt = lambda k: tuple(float(v) for v in joints[k])  # noqa: E731
    draw.polygon([pt(12), pt(13), pt(3), pt(2)], fill=top)
    if bulk:
        draw.line([pt(7), pt(6)], fill=top, width=int(limb * 2.2))
    for a, b in ((2, 1), (1, 0), (3, 4), (4, 5)):
        draw.line([pt(a), pt(b)], fill=bottom, width=int(limb * 1.3))
    for a, b in ((12, 11), (13, 14)):
        draw.line([pt(a), pt(b)], fill=top, width=limb)
    for a, b in ((11, 10), (14, 15), (7, 8)):
        draw.line([pt(a), pt(b)], fill=skin, width=limb)
    centre = (joints[8] + joints[9]) / 2.0
    r = np.linalg.norm(joints[9] - joints[8]) / 2.0 + 1.0
    draw.ellipse(
        [centre[0] - r * 0.8, centre[1] - r, centre[0] + r * 0.8, centre[1] + r], fill=head
    )
    return centre, r
