"""A skeleton from a COCO keypoints file's category: any joint names, in any order.

A labelling tool (CVAT, Label Studio) or a data set (CrowdPose) writes its skeleton in
`categories[0]`: `keypoints` (the joint names, in the order of each annotation's triples) and
`skeleton` (limbs as 1-based joint pairs). From those:
- flip pairs: joints whose names differ only by side, written as `left_`/`right_`, `l_`/`r_`
  (any case, `_`, `-`, `.` or space), `LShoulder`/`RShoulder`, or as a suffix (`knee_l`);
  `--flip_pairs=a:b,...` (names) replaces them;
- OKS sigmas: COCO's for COCO's joint names (`l_knee` is COCO's `left_knee`), else 0.079 (what
  CrowdPose gives its head and neck), each settable with `--oks_sigmas=name=value,...`;
- the upper body (half-body crops): every joint but hips, knees, ankles, feet and the pelvis.

The skeleton is the file's schema, not any person's record: no record can change it.
"""

import re

from tfpose_dp.skeleton import COCO17, MPII16, Skeleton

DEFAULT_OKS_SIGMA = 0.079
_LOWER_BODY = ("hip", "knee", "ankle", "foot", "heel", "toe", "pelvis")
_SIDE_PATTERNS = (
    re.compile(r"^(left|right)[_\-. ]?(.+)$", re.I),
    re.compile(r"^([lr])[_\-. ](.+)$", re.I),
    re.compile(r"^([LR])([A-Z].*)$"),
    re.compile(r"^(.+?)[_\-. ](left|right|l|r)$", re.I),
)


class SkeletonError(ValueError):
    """A category or a skeleton flag that cannot describe a skeleton; says what to fix."""


def canonical_name(name):
    """`left_knee` for l_knee, L_Knee, LKnee, left-knee, knee_l ...; others lower-cased with
    `_` separators. Two skeletons' joints with one canonical name are the same joint."""
    name = str(name).strip()
    for n, pattern in enumerate(_SIDE_PATTERNS):
        m = pattern.match(name)
        if m:
            side, base = (m.group(2), m.group(1)) if n == 3 else (m.group(1), m.group(2))
            side = "left" if side.lower().startswith("l") else "right"
            return f"{side}_{_plain(base)}"
    return _plain(name)


def _plain(name):
    return re.sub(r"[\s\-.]+", "_", name.strip().lower())


def _flip_pairs(names, flip_pairs_flag):
    index = {n: i for i, n in enumerate(names)}
    if flip_pairs_flag:
        pairs = []
        for item in flip_pairs_flag.split(","):
            a, _, b = item.partition(":")
            if a.strip() not in index or b.strip() not in index:
                raise SkeletonError(
                    f"--flip_pairs={flip_pairs_flag}: {item!r} must be two joint names of the "
                    f"data joined by ':' (the joints: {', '.join(names)})"
                )
            pairs.append((index[a.strip()], index[b.strip()]))
    else:
        canonical = {canonical_name(n): i for i, n in enumerate(names)}
        pairs = [
            (i, canonical[f"right_{c[5:]}"])
            for c, i in canonical.items()
            if c.startswith("left_") and f"right_{c[5:]}" in canonical
        ]
    used = [j for p in pairs for j in p]
    if len(used) != len(set(used)):
        raise SkeletonError(f"--flip_pairs={flip_pairs_flag}: a joint is in two pairs")
    return tuple(sorted(pairs))


def _oks_sigmas(names, sigmas_flag):
    coco = {n: s for n, s in zip(COCO17.joint_names, COCO17.oks_sigmas)}
    sigmas = [coco.get(canonical_name(n), DEFAULT_OKS_SIGMA) for n in names]
    for item in filter(None, (sigmas_flag or "").split(",")):
        name, _, value = item.partition("=")
        try:
            sigmas[names.index(name.strip())] = float(value)
        except ValueError as e:
            raise SkeletonError(
                f"--oks_sigmas={sigmas_flag}: {item!r} must be joint_name=sigma with a joint of "
                f"the data ({', '.join(names)})"
            ) from e
    return tuple(sigmas)


def _limbs(category, num_joints, where):
    limbs = []
    for pair in category.get("skeleton") or []:
        try:
            a, b = (int(v) - 1 for v in pair)  # COCO's skeleton is 1-based
        except (TypeError, ValueError) as e:
            raise SkeletonError(f"{where}: skeleton entry {pair!r} is not two joint numbers") from e
        if not (0 <= a < num_joints and 0 <= b < num_joints):
            raise SkeletonError(
                f"{where}: skeleton entry {pair!r} names a joint outside 1..{num_joints} "
                "(COCO numbers joints from 1)"
            )
        limbs.append((a, b))
    return tuple(limbs)


def category_skeleton(category, where="the data", flip_pairs=None, oks_sigmas=None):
    """The Skeleton (named `from_data`) a COCO category describes."""
    names = [str(n) for n in category.get("keypoints") or []]
    if not names:
        raise SkeletonError(f"{where}: categories[0] has no keypoints (the joint names)")
    if len(set(names)) != len(names):
        raise SkeletonError(f"{where}: categories[0].keypoints names a joint twice")
    upper = tuple(
        i for i, n in enumerate(names) if not any(w in canonical_name(n) for w in _LOWER_BODY)
    )
    return Skeleton(
        name="from_data",
        joint_names=tuple(names),
        flip_pairs=_flip_pairs(names, flip_pairs),
        upper_body=upper,
        limbs=_limbs(category, len(names), where),
        oks_sigmas=_oks_sigmas(names, oks_sigmas),
    )


def named_set_of(names):
    """`coco17` or `mpii16` when the names are that set's in its order, else None."""
    for skeleton in (COCO17, MPII16):
        if tuple(names) == skeleton.joint_names:
            return skeleton.name
    return None


def head_rows(source, target):
    """{target joint: source joint} of the joints two skeletons share (by canonical name)."""
    theirs = {canonical_name(n): i for i, n in enumerate(source.joint_names)}
    return {
        j: theirs[canonical_name(n)]
        for j, n in enumerate(target.joint_names)
        if canonical_name(n) in theirs
    }
