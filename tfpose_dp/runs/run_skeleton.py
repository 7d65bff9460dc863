"""Which joints a run's model predicts: `--keypoints` resolved against the data and the start.

`auto` (the default) takes the --init_from model's skeleton when the data can be read in it,
else the data's own joints for a COCO-format file that is not COCO's 17 (`from_data`), else
mpii16 (MPII's 16; COCO's 17 map onto them). The resolved skeleton is kept whole in the
manifest, so evaluate, predict, export and a resume read it back without the data.
"""

import os

from tfpose_dp.category_skeleton import SkeletonError, category_skeleton, named_set_of
from tfpose_dp.data.annotations import TFDS_PREFIX, read_json
from tfpose_dp.data.coco_keypoints import find_coco_split
from tfpose_dp.skeleton import COCO17, MPII16, get_skeleton, skeleton_of


def data_category(config):
    """(categories[0] of the run's training file, the file) for COCO-format data; (None, None)
    for MPII's format (its 16 joints) and for the built-in people in MPII's format."""
    d = config.data
    if d.train_annotations:
        path = d.train_annotations
    elif d.data_dir and d.data_format == "coco" and not d.data_dir.startswith(TFDS_PREFIX):
        path = find_coco_split(d.data_dir, "train")[0]
    elif not d.data_dir and d.data_format == "coco":  # the built-in people written as COCO's 17
        return {"keypoints": list(COCO17.joint_names)}, "the built-in COCO-format people"
    else:
        return None, None
    if not os.path.isfile(path):
        return None, None  # the loader says what is missing
    raw = read_json(path)
    if not isinstance(raw, dict):
        return None, None  # MPII's format
    categories = [c for c in raw.get("categories") or [] if c.get("keypoints")]
    return (categories[0] if categories else None), path


def _reads(skeleton, names):
    """Whether data with joint `names` (None: MPII's 16) loads in `skeleton`."""
    if names is None:
        return skeleton.name == MPII16.name
    mapped = skeleton.name == MPII16.name and set(names) == set(COCO17.joint_names)
    return mapped or set(skeleton.joint_names) == set(names)


def resolve_keypoints(config, start=None):
    """(config with keypoints mpii16 | coco17 | from_data (and its skeleton), a line for the
    log or None). `start`: the --init_from model's config."""
    m = config.model
    if m.skeleton and m.keypoints == "from_data":
        return config, None  # resolved already
    category, where = data_category(config)
    names = tuple(str(n) for n in category["keypoints"]) if category else None
    wanted = m.keypoints
    if wanted == "auto" and start is not None and _reads(skeleton_of(start.model), names):
        return config.replace(keypoints=start.model.keypoints, skeleton=start.model.skeleton), None
    if wanted == "auto":
        custom = names is not None and set(names) != set(COCO17.joint_names)
        wanted = "from_data" if custom else "mpii16"
    if wanted in (MPII16.name, COCO17.name):
        if not _reads(get_skeleton(wanted), names):
            held = (
                "MPII-format data holds MPII's 16 joints"
                if names is None
                else f"{where} labels {len(names)} joints ({', '.join(names[:4])}, ...)"
            )
            raise SkeletonError(
                f"--keypoints={wanted}, but {held}, not {wanted}'s: use --keypoints=from_data "
                "(or leave --keypoints out) to train the data's own joints"
            )
        _no_skeleton_flags(config, wanted)
        return config.replace(keypoints=wanted, skeleton=None), None
    named = MPII16.name if names is None else named_set_of(names)
    if named:  # the data's joints are a named set's, in its order
        _no_skeleton_flags(config, named)
        return config.replace(keypoints=named, skeleton=None), None
    skeleton = category_skeleton(category, where, m.flip_pairs, m.oks_sigmas)
    pairs = ", ".join(f"{names[a]}:{names[b]}" for a, b in skeleton.flip_pairs) or "none"
    note = (
        f"--keypoints=from_data: {skeleton.num_joints} joints from {where} "
        f"({', '.join(names)}); flip pairs {pairs}"
    )
    return config.replace(keypoints="from_data", skeleton=skeleton.to_json()), note


def run_skeleton(config):
    """The Skeleton of a run's config, resolved first if it is not yet (a config built by hand
    rather than by a run)."""
    if config.model.keypoints == "auto" or (
        config.model.keypoints == "from_data" and not config.model.skeleton
    ):
        config = resolve_keypoints(config)[0]
    return skeleton_of(config.model)


def _no_skeleton_flags(config, name):
    for flag in ("flip_pairs", "oks_sigmas"):
        if getattr(config.model, flag):
            raise SkeletonError(
                f"--{flag} applies to a skeleton from the data (--keypoints=from_data), not to "
                f"{name}, whose pairs and sigmas are fixed: leave it out"
            )
