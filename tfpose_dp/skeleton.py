"""MPII joint metadata: the one place that knows joint names, order and symmetry."""

NUM_JOINTS = 16

# MPII order (index = position in every joints array of this package).
JOINT_NAMES = (
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
)

# Left/right pairs swapped by a horizontal flip.
FLIP_PAIRS = ((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13))

# Joints of the upper body (thorax, neck, head, arms) for half-body crops; the rest is lower.
UPPER_BODY = (7, 8, 9, 10, 11, 12, 13, 14, 15)

# Limbs for drawing: (joint_a, joint_b).
SKELETON = (
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
)

# Short joint names of MPII's evaluation files (gt_valid.mat's dataset_joints), same order.
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


def flip_permutation():
    """Returns the joint permutation applied by a horizontal flip.

    >>> flip_permutation()[:6]
    [5, 4, 3, 2, 1, 0]
    """
    perm = list(range(NUM_JOINTS))
    for a, b in FLIP_PAIRS:
        perm[a], perm[b] = b, a
    return perm
