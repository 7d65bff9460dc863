"""Rebuilds a run's pose model from its checkpoint and manifest: for evaluate, predict and
export, and for --init_from (a new run starting from another run's whole model). Needs neither
the trainer nor the privacy code.

Accepts a training --model_dir (its newest checkpoint), its checkpoints/ folder, one ckpt dir
or a preset folder (a ckpt dir holding the model weights only).
"""

import hashlib
import os

import tensorflow as tf
from absl import logging

from tfpose_dp import presets
from tfpose_dp.category_skeleton import head_rows
from tfpose_dp.data.annotations import TFDS_PREFIX, AnnotationError, find_annotation_file
from tfpose_dp.data.coco_keypoints import find_coco_split
from tfpose_dp.models.pose_model import build_pose_model, trainable_variables
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.run_config import MODEL_SHAPE_FIELDS
from tfpose_dp.runs import checkpoints
from tfpose_dp.runs.manifest import Manifest
from tfpose_dp.runs.run_skeleton import run_skeleton


class CheckpointNotFound(FileNotFoundError):
    pass


class IncompatibleModel(ValueError):
    """--init_from points at a model of another shape or normalisation."""


def checkpoint_dir(path):
    path = presets.resolve(path)
    ckpt = checkpoints.latest_checkpoint(path) if os.path.exists(path) else None
    if not ckpt:
        raise CheckpointNotFound(
            f"{path}: no training checkpoint there (expected a --model_dir of "
            "tfpose_dp.train, one of its ckpt-* folders or a preset folder)"
        )
    return ckpt


def read_manifest(path):
    """The manifest of the newest checkpoint under `path` (a model_dir, ckpt or preset dir)."""
    ckpt = checkpoint_dir(path)
    return Manifest.from_state(checkpoints.read_state(ckpt), ckpt)


def run_data_root(config, data_dir=None, synthetic_root=None, synthetic=None, data_format=None):
    """Folder of the data a run trained on: `data_dir` if given, else the run's own data_dir,
    else a synthetic set: `synthetic` = (train, val, seed, domain) if given, else the run's own
    (written again if absent; it is a function of its sizes, seed and domain), in `data_format`
    (default the run's)."""
    from tfpose_dp.data.synthetic import ensure_synthetic_dataset
    from tfpose_dp.data.synthetic_coco import ensure_synthetic_coco

    root = data_dir or (None if synthetic else config.data.data_dir)
    if root:
        return root
    d = config.data
    train, val, seed, domain = synthetic or (
        d.synthetic_train,
        d.synthetic_val,
        d.synthetic_seed,
        d.synthetic_domain,
    )
    coco = (data_format or config.data.data_format) == "coco"
    write = ensure_synthetic_coco if coco else ensure_synthetic_dataset
    return write(train, val, seed, synthetic_root, domain)


def run_split(
    config,
    split,
    data_dir=None,
    synthetic_root=None,
    synthetic=None,
    data_format=None,
    annotation_file=None,
    image_dir=None,
):
    """(records, where) of `split` (train or valid) of the data a run trained on, or of the data
    the caller names instead: an `annotation_file` (images in `image_dir`), a `data_dir` or a
    `synthetic` set (see `run_data_root`), in the run's keypoints."""
    from tfpose_dp.data.annotations import load_annotation_file, load_split

    d, keypoints = config.data, run_skeleton(config)
    files = None if (data_dir or synthetic) else d.annotation_files()
    if not annotation_file and files:
        annotation_file = files[0] if split == "train" else files[1]
        image_dir = image_dir or files[2]
    if annotation_file:
        return load_annotation_file(annotation_file, image_dir, keypoints), annotation_file
    root = run_data_root(config, data_dir, synthetic_root, synthetic, data_format)
    return load_split(root, split, data_format or d.data_format, keypoints), root


def build_model(config):
    """The (untrained) pose model a run's config describes; its norm must be resolved.

    A private run builds it without DropPath: stochastic depth draws one mask per slot of
    the batch from a shared generator, so a record's mask would depend on the other records
    sampled with it (TinyViT-11M/21M publish 0.1/0.2; 5M and micro use 0 anyway)."""
    m = config.model
    return build_pose_model(
        m.model,
        m.input_size,
        m.norm,
        m.split_ratio,
        num_joints=run_skeleton(config).num_joints,
        drop_path_rate=None if config.privacy.nonprivate else 0.0,
        maps_per_joint=m.maps_per_joint,
    )


def model_codec(config):
    """The SimCC codec of a run's model: its crop size, bins, label width and skeleton."""
    m = config.model
    return SimCCCodec(m.input_size, m.split_ratio, m.simcc_sigma or None, run_skeleton(config))


def restore_weights(model, ckpt, config, use_average=True):
    """Loads a run's model weights (its weight average when it trained with --ema_decay)."""
    trackables = {"model": model}
    averaged = use_average and config.optim.ema_decay > 0
    if averaged:
        variables = trainable_variables(model, config.model.trainable)
        trackables["weight_average"] = [tf.Variable(tf.zeros_like(v)) for v in variables]
    checkpoints.restore(ckpt, trackables, expect_partial=True)
    if averaged:
        for v, shadow in zip(variables, trackables["weight_average"]):
            v.assign(shadow)
        logging.info("using the run's weight average (--ema_decay=%g)", config.optim.ema_decay)


def load_trained_model(path, use_average=True):
    """Returns (model, codec, manifest) with the trained weights restored.

    A run trained with --ema_decay reports its validation PCKh with the weight average; with
    `use_average` the average is loaded too, so evaluate/predict/export see the same model.
    """
    ckpt = checkpoint_dir(path)
    manifest = Manifest.from_state(checkpoints.read_state(ckpt), ckpt)
    model = build_model(manifest.config)
    restore_weights(model, ckpt, manifest.config, use_average)
    return model, model_codec(manifest.config), manifest


# MODEL_SHAPE_FIELDS leave the skeleton out: a start of another skeleton passes on the joints
# both have (`init_from_run`), and `--keypoints=auto` adopts the start's (runs/run_skeleton.py).


def adopt_start(config, given, path):
    """`config` with the --init_from model's shape settings (model, input size, norm, bins,
    maps per joint) wherever the command line gave none (`given`: the flag names it set); a
    given one that differs is refused, naming it, before any data is read.
    Returns (config, {name: adopted value})."""
    source = read_manifest(path).config.model
    adopted = {}
    for name in MODEL_SHAPE_FIELDS:
        theirs, mine = getattr(source, name), getattr(config.model, name)
        if name not in given or (name == "norm" and mine == "auto"):
            if mine != theirs:
                adopted[name] = theirs
        elif mine != theirs:
            raise IncompatibleModel(
                f"--init_from={path} holds a model with --{name}={flag_text(theirs)}, but this "
                f"run gives --{name}={flag_text(mine)}: leave --{name} out to take the start "
                "model's, or start from a model trained with that setting"
            )
    return config.replace(**adopted), adopted


def flag_text(value):
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def check_compatible(source, wanted, path):
    """Each of the model's shape settings of config `wanted` must equal config `source`'s."""
    for name in MODEL_SHAPE_FIELDS:
        before, now = getattr(source.model, name), getattr(wanted.model, name)
        if before != now:
            raise IncompatibleModel(
                f"--init_from={path} holds a model with --{name}={before!r}, this run has "
                f"{now!r}: use "
                "the same setting (or leave --norm=auto to take the source's)"
            )


def data_identity(config):
    """What a run trained on: ("annotations", the real path of its training annotation file,
    however the flags named it: --data_dir or --train_annotations), ("tfds", the build), or
    its synthetic domain and seed (synthetic sets of one seed share their first people,
    whatever their sizes)."""
    d = config.data
    if d.data_dir and d.data_dir.startswith(TFDS_PREFIX):
        return ("tfds", d.data_dir)
    if d.data_dir or d.train_annotations:
        return ("annotations", _train_annotation_file(d))
    return ("synthetic", d.synthetic_domain, d.synthetic_seed)


def _train_annotation_file(d):
    """The real path of a run's training annotation file (the folder itself when it holds
    none any more)."""
    if d.train_annotations:
        return os.path.realpath(d.train_annotations)
    try:
        if d.data_format == "coco":
            return os.path.realpath(find_coco_split(d.data_dir, "train")[0])
        return os.path.realpath(find_annotation_file(d.data_dir, "train"))
    except AnnotationError:
        return os.path.realpath(d.data_dir)


def _content_hash(path):
    """sha256 of a file's bytes (None for a folder or a missing file): computed here to compare
    two runs' data, never stored or logged (it would tell neighbouring data sets apart)."""
    if not os.path.isfile(path):
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def check_public_start(source, wanted, path):
    """A start model trained on this run's own training data would spend that data outside
    the ledger: refused, when the training annotation files are the same file (by real path,
    however the flags named it) or hold the same bytes (a copy). (Different files holding some
    of the same images cannot be told apart here: the start must be trained on public data
    only, as the statement says.)"""
    mine, theirs = data_identity(wanted), data_identity(source.config)
    same = mine == theirs
    if not same and mine[0] == theirs[0] == "annotations":
        digest = _content_hash(mine[1])
        same = digest is not None and digest == _content_hash(theirs[1])
    if same:
        raise IncompatibleModel(
            f"--init_from={path} was trained on this run's own training data "
            f"({source.data_description}): the start model must come from public data only. "
            "Pretrain on a public set (another --data_dir or --synthetic_domain) first"
        )


def start_record(source, path):
    """The start model's own record, kept in this run's manifest and exports."""
    plan = source.plan or {}
    private = not source.config.privacy.nonprivate
    state = checkpoints.read_state(checkpoint_dir(path))
    return {
        "init_from": path,
        "method": source.config.method,
        "data": source.data_description,
        "dp_guarantee": private and not source.config.privacy.reproducible_noise,
        "epsilon": state.get("epsilon") if private else None,
        "delta": plan.get("delta") if private else None,
        "note": "this run's guarantee covers its own private data only; the start model's "
        "training data must be public",
    }


def init_from_run(model, path, wanted):
    """Loads another run's whole pose model (backbone and head) into `model` (built from config
    `wanted`); returns the source run's manifest. A start of another skeleton passes on the
    joints both skeletons name (left_knee = l_knee ...); the head's other joints start fresh."""
    ckpt = checkpoint_dir(path)
    source = Manifest.from_state(checkpoints.read_state(ckpt), ckpt)
    check_compatible(source.config, wanted, path)
    theirs, mine = run_skeleton(source.config), run_skeleton(wanted)
    if theirs.joint_names == mine.joint_names:
        restore_weights(model, ckpt, source.config)
        kept = "the whole pose model"
    else:
        start = build_model(source.config)
        restore_weights(start, ckpt, source.config)
        rows = copy_across_skeletons(start, model, theirs, mine)
        fresh = [n for j, n in enumerate(mine.joint_names) if j not in rows]
        kept = (
            f"the pose model but the head's joint maps of its {theirs.num_joints} joints "
            f"({theirs.name}): {len(rows)} of this run's {mine.num_joints} joints matched by "
            f"name, fresh: {', '.join(fresh) or 'none'}"
        )
    logging.info(
        "Initialised %s from %s (%s, %s)",
        kept,
        path,
        source.config.method,
        source.data_description,
    )
    return source


def copy_across_skeletons(start, model, theirs, mine):
    """Copies `start`'s weights into `model` (same backbone, another skeleton): all but the
    head's per-joint maps, which are copied for the joints both name. Returns {joint: its
    joint in the start}."""
    rows = head_rows(theirs, mine)
    per_joint = model.get_layer("simcc_head").maps_per_joint
    joint_maps = {id(v) for v in model.get_layer("simcc_head").final_layer.weights}
    for source, target in zip(start.weights, model.weights):
        if id(target) not in joint_maps:
            target.assign(source)
            continue
        value, before = target.numpy(), source.numpy()
        for j, i in rows.items():
            value[..., j * per_joint : (j + 1) * per_joint] = before[
                ..., i * per_joint : (i + 1) * per_joint
            ]
        target.assign(value)
    return rows
