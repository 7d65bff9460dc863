"""COCO's 17 keypoints -> MPII's 16 joints, so a COCO-format public set pretrains a 16-joint model.

The twelve limb joints (shoulders, elbows, wrists, hips, knees, ankles) map directly; the
pelvis is the midpoint of the two hips and the thorax the midpoint of the two shoulders, each
only when both are labelled; MPII's upper neck and head top have no COCO counterpart (COCO's
face points are not on the head's top) and stay unlabelled (weight 0).
"""

import numpy as np

from tfpose_dp.skeleton import COCO17, MPII16

# MPII joint <- COCO joint, by name.
DIRECT = {
    "r_ankle": "right_ankle",
    "r_knee": "right_knee",
    "r_hip": "right_hip",
    "l_hip": "left_hip",
    "l_knee": "left_knee",
    "l_ankle": "left_ankle",
    "r_wrist": "right_wrist",
    "r_elbow": "right_elbow",
    "r_shoulder": "right_shoulder",
    "l_shoulder": "left_shoulder",
    "l_elbow": "left_elbow",
    "l_wrist": "left_wrist",
}
# MPII joint <- midpoint of two COCO joints, when both are labelled.
MIDPOINTS = {"pelvis": ("left_hip", "right_hip"), "thorax": ("left_shoulder", "right_shoulder")}


def coco_to_mpii(joints, visible):
    """(17, 2) COCO joints and (17,) labels -> (16, 2) MPII joints and (16,) labels (0/1)."""
    coco = {name: i for i, name in enumerate(COCO17.joint_names)}
    out = np.full((MPII16.num_joints, 2), -1.0, np.float32)
    vis = np.zeros(MPII16.num_joints, np.float32)
    for j, name in enumerate(MPII16.joint_names):
        if name in DIRECT and visible[coco[DIRECT[name]]] > 0:
            out[j], vis[j] = joints[coco[DIRECT[name]]], 1.0
        elif name in MIDPOINTS:
            a, b = (coco[n] for n in MIDPOINTS[name])
            if visible[a] > 0 and visible[b] > 0:
                out[j], vis[j] = (joints[a] + joints[b]) / 2.0, 1.0
    return out, vis
