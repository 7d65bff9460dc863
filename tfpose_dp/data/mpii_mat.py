"""The official MPII annotation file (mpii_human_pose_v1_u12_1.mat) -> our person records.

Only annotated persons of training images (`img_train` = 1) can be used: the test set's
joints are withheld. A record is the HRNet/mmpose JSON person: `image`, `center` = objpos,
`scale`, `joints` 16 x [x, y] (1-based, [-1, -1] where not annotated), `joints_vis` (1 =
annotated, occluded or not, as in that JSON), plus `head_box` [x1, y1, x2, y2] for PCKh.

The standard validation split (Tompson et al., the 2,958 persons of `gt_valid.mat`) is not in
the .mat; given gt_valid.mat, its persons are found by their head boxes and joints.
"""

import numpy as np

from tfpose_dp.skeleton import NUM_JOINTS


class MatFormatError(ValueError):
    """The file is not the MPII release .mat; the message says what was expected."""


def _items(value):
    """A MATLAB struct array loaded with squeeze_me: one struct, an array of them, or empty."""
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        return [v for v in value.ravel()]
    return [value]


def _number(value):
    arr = np.asarray(value).ravel()
    if arr.size == 0:
        return None
    try:
        return float(arr[0])
    except (TypeError, ValueError):
        return None


def _person(rect):
    """One annorect -> (joints (16,2), vis (16,), centre, scale, head box) or None if unusable."""
    fields = set(getattr(rect, "_fieldnames", ()))
    if not {"annopoints", "scale", "objpos"} <= fields:
        return None
    scale = _number(rect.scale)
    annopoints = rect.annopoints  # an empty array when the person has no joints
    points = (
        [] if isinstance(annopoints, np.ndarray) else _items(getattr(annopoints, "point", None))
    )
    objpos = rect.objpos
    if scale is None or not points or isinstance(objpos, np.ndarray):
        return None
    joints = np.full((NUM_JOINTS, 2), -1.0)
    vis = np.zeros(NUM_JOINTS)
    for p in points:
        j = int(_number(p.id))
        if 0 <= j < NUM_JOINTS:
            joints[j] = (_number(p.x), _number(p.y))
            vis[j] = 1.0
    head = [_number(getattr(rect, k, None)) for k in ("x1", "y1", "x2", "y2")]
    head = None if any(v is None for v in head) else head
    return joints, vis, (_number(objpos.x), _number(objpos.y)), scale, head


def read_release(path):
    """All usable training persons of the release .mat as JSON-ready dicts, in file order."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        release = loadmat(path, struct_as_record=False, squeeze_me=True)["RELEASE"]
        annolist, img_train = _items(release.annolist), np.asarray(release.img_train).ravel()
    except (KeyError, AttributeError, ValueError, OSError, MatReadError) as e:
        raise MatFormatError(
            f"{path}: not the MPII release file mpii_human_pose_v1_u12_1.mat ({e!r})"
        ) from e
    if len(annolist) != len(img_train):
        raise MatFormatError(
            f"{path}: annolist ({len(annolist)}) and img_train ({len(img_train)}) differ"
        )
    persons = []
    for entry, train in zip(annolist, img_train):
        if not train:
            continue
        name = str(entry.image.name)
        for rect in _items(getattr(entry, "annorect", None)):
            person = _person(rect)
            if person is None:
                continue
            joints, vis, centre, scale, head = person
            rec = {
                "image": name,
                "center": [float(centre[0]), float(centre[1])],
                "scale": scale,
                "joints": joints.tolist(),
                "joints_vis": vis.astype(int).tolist(),
            }
            if head is not None:
                rec["head_box"] = head
            persons.append(rec)
    return persons


def _key(head_box):
    return tuple(int(round(v * 10)) for v in head_box)


def split_by_gt_valid(persons, headboxes_src, jnt_missing, pos_gt_src):
    """(train, valid): valid in gt_valid.mat order; train without an image holding a valid person.

    headboxes_src (2, 2, N), jnt_missing (16, N), pos_gt_src (16, 2, N) as in gt_valid.mat.
    Raises MatFormatError naming how many validation persons could not be found.
    """
    by_box = {}
    for i, rec in enumerate(persons):
        if "head_box" in rec:
            by_box.setdefault(_key(rec["head_box"]), []).append(i)
    valid, unmatched = [], []
    for n in range(headboxes_src.shape[2]):
        box = [
            headboxes_src[0, 0, n],
            headboxes_src[0, 1, n],
            headboxes_src[1, 0, n],
            headboxes_src[1, 1, n],
        ]
        seen = jnt_missing[:, n] == 0
        match = [
            i
            for i in by_box.get(_key(box), [])
            if np.allclose(np.asarray(persons[i]["joints"])[seen], pos_gt_src[seen, :, n], atol=0.5)
        ]
        if match:
            valid.append(match[0])
        else:
            unmatched.append(n)
    if unmatched:
        raise MatFormatError(
            f"{len(unmatched)} of {headboxes_src.shape[2]} gt_valid.mat persons (e.g. "
            f"{unmatched[:5]}) are not in the release .mat: are both files from MPII v1 u12?"
        )
    valid_images = {persons[i]["image"] for i in valid}
    train = [rec for rec in persons if rec["image"] not in valid_images]
    return train, [persons[i] for i in valid]


def split_by_image(persons, val_fraction, seed=0):
    """(train, valid) with a seeded fraction of images held out (no image in both)."""
    images = sorted({rec["image"] for rec in persons})
    rng = np.random.default_rng(seed)
    held = set(
        rng.choice(images, size=int(round(val_fraction * len(images))), replace=False).tolist()
    )
    return (
        [rec for rec in persons if rec["image"] not in held],
        [rec for rec in persons if rec["image"] in held],
    )
