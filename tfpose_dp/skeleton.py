"""Skeletons as data: joint names, order, symmetry, limbs and evaluation sigmas, per keypoint set.

`--keypoints` names one (`mpii16`, `coco17`) or takes the data's own (`from_data`, built by
`category_skeleton.py` and kept whole in the run's manifest); the model's head, the flip pairs,
the overlays, predict and the export metadata all follow it. The MPII evaluation tables (PCKh)
live here too.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Skeleton:
    name: str
    joint_names: tuple  # index = position in every joints array of a model of this skeleton
    flip_pairs: tuple  # left/right pairs swapped by a horizontal flip
    upper_body: tuple  # joints of the upper body (half-body crops); the rest is lower
    limbs: tuple  # (joint_a, joint_b) for drawing
    # OKS per-joint sigmas (COCO keypoint evaluation): the tolerance of each joint as a fraction
    # of the object's scale.
    oks_sigmas: tuple

    @property
    def num_joints(self):
        return len(self.joint_names)

    def flip_permutation(self):
        """The joint permutation of a horizontal flip.

        >>> MPII16.flip_permutation()[:6]
        [5, 4, 3, 2, 1, 0]
        """
        perm = list(range(self.num_joints))
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def to_json(self):
        return {
            "name": self.name,
            "joint_names": list(self.joint_names),
            "flip_pairs": [list(p) for p in self.flip_pairs],
            "upper_body": list(self.upper_body),
            "limbs": [list(limb) for limb in self.limbs],
            "oks_sigmas": list(self.oks_sigmas),
        }

    @classmethod
    def from_json(cls, data):
        return cls(
            name=data["name"],
            joint_names=tuple(data["joint_names"]),
            flip_pairs=tuple(tuple(p) for p in data["flip_pairs"]),
            upper_body=tuple(data["upper_body"]),
            limbs=tuple(tuple(limb) for limb in data["limbs"]),
            oks_sigmas=tuple(float(s) for s in data["oks_sigmas"]),
        )


MPII16 = Skeleton(
    name="mpii16",
    joint_names=(
        "r_ankle",
        "r_knee",
        "r_hip",
        "l_hip",
        "l_knee",
        "l_ankle",
        "pelvis",
        "thorax",
        "upper_neck",
        "head_top",
        "r_wrist",
        "r_elbow",
        "r_shoulder",
        "l_shoulder",
        "l_elbow",
        "l_wrist",
    ),
    flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
    upper_body=(7, 8, 9, 10, 11, 12, 13, 14, 15),
    limbs=(
        (0, 1),
        (1, 2),
        (2, 6),
        (6, 3),
        (3, 4),
        (4, 5),
        (6, 7),
        (7, 8),
        (8, 9),
        (10, 11),
        (11, 12),
        (12, 7),
        (7, 13),
        (13, 14),
        (14, 15),
    ),
    # mmpose's MPII sigmas ("adapted from COCO"), for OKS on 16-joint data in COCO format.
    oks_sigmas=(
        0.089,
        0.083,
        0.107,
        0.107,
        0.083,
        0.089,
        0.026,
        0.026,
        0.026,
        0.026,
        0.062,
        0.072,
        0.179,
        0.179,
        0.072,
        0.062,
    ),
)

COCO17 = Skeleton(
    name="coco17",
    joint_names=(
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    upper_body=tuple(range(11)),
    limbs=(
        (15, 13),
        (13, 11),
        (16, 14),
        (14, 12),
        (11, 12),
        (5, 11),
        (6, 12),
        (5, 6),
        (5, 7),
        (6, 8),
        (7, 9),
        (8, 10),
        (1, 2),
        (0, 1),
        (0, 2),
        (1, 3),
        (2, 4),
        (3, 5),
        (4, 6),
    ),
    # The COCO keypoint challenge's sigmas (pycocotools' COCOeval defaults).
    oks_sigmas=(
        0.026,
        0.025,
        0.025,
        0.035,
        0.035,
        0.079,
        0.079,
        0.072,
        0.072,
        0.062,
        0.062,
        0.107,
        0.107,
        0.087,
        0.087,
        0.089,
        0.089,
    ),
)

SKELETONS = {s.name: s for s in (MPII16, COCO17)}


def get_skeleton(name):
    """The skeleton `--keypoints=name` selects."""
    if name not in SKELETONS:
        raise ValueError(f"--keypoints must be one of {tuple(SKELETONS)}, got {name!r}")
    return SKELETONS[name]


def as_skeleton(keypoints):
    """A Skeleton from a keypoint set's name or a Skeleton."""
    return keypoints if isinstance(keypoints, Skeleton) else get_skeleton(keypoints)


def skeleton_of(model_config):
    """The skeleton of a run's model config: a named set, or the data's own (`from_data`), kept
    whole in the config's `skeleton` field."""
    if model_config.skeleton:
        return Skeleton.from_json(model_config.skeleton)
    return get_skeleton(model_config.keypoints)


def skeleton_of_record(record):
    """The skeleton an export's privacy record describes (older exports name a set only)."""
    if record.get("skeleton"):
        return Skeleton.from_json(record["skeleton"])
    return get_skeleton(record["keypoints"])


# MPII readers (the .mat, the TFDS build, the built-in synthetic people) write 16 joints.
NUM_JOINTS = MPII16.num_joints

# Short joint names of MPII's evaluation files (gt_valid.mat's dataset_joints), MPII16's order.
PCKH_JOINT_NAMES = (
    "rank",
    "rkne",
    "rhip",
    "lhip",
    "lkne",
    "lank",
    "pelv",
    "thrx",
    "neck",
    "head",
    "rwri",
    "relb",
    "rsho",
    "lsho",
    "lelb",
    "lwri",
)

# Columns of the MPII PCKh table, as the reference evaluation defines them: Head is the head
# top alone; a left/right column is the mean of the two joints' PCKh (not of their pooled counts).
PCKH_COLUMNS = (
    ("Head", (9,)),
    ("Shoulder", (12, 13)),
    ("Elbow", (11, 14)),
    ("Wrist", (10, 15)),
    ("Hip", (2, 3)),
    ("Knee", (1, 4)),
    ("Ankle", (0, 5)),
)

# Joints left out of the Mean (and Mean@0.1): pelvis and thorax.
PCKH_EXCLUDED = (6, 7)
