"""Rebuilds the pose model of a training run from its checkpoint (for evaluate/predict/export,
and for --init_from, which starts a new run from another run's whole model).

Accepts a training --model_dir (its newest checkpoint), its checkpoints/ folder, one ckpt dir
or a preset folder (a ckpt dir holding the model weights only).
"""
import os

import tensorflow as tf
from absl import logging

from tfpose_dp.models.pose_model import build_pose_model, trainable_variables
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.training import checkpointing


class CheckpointNotFound(FileNotFoundError):
    pass


class IncompatibleModel(ValueError):
    """--init_from points at a model of another shape or normalisation."""


def run_data_root(config, data_dir=None, synthetic_root=None, synthetic=None):
    """Folder of the data a run trained on: `data_dir` if given, else the run's own data_dir,
    else a synthetic set: `synthetic` = (train, val, seed, domain) if given, else the run's own
    (written again if absent; it is a function of its sizes, seed and domain)."""
    from tfpose_dp.data.synthetic import ensure_synthetic_dataset  # pylint: disable=import-outside-toplevel
    root = data_dir or (None if synthetic else config.get("data_dir"))
    if root:
        return root
    if synthetic is None:
        synthetic = (*config["synthetic"][:3], config.get("synthetic_domain", "public"))
    train, val, seed, domain = synthetic
    return ensure_synthetic_dataset(train, val, seed, synthetic_root, domain)


def checkpoint_dir(path):
    ckpt = checkpointing.latest_checkpoint(path) if os.path.exists(path) else None
    if not ckpt:
        raise CheckpointNotFound(f"{path}: no training checkpoint there (expected a --model_dir of "
                                 "tfpose_dp.train, one of its ckpt-* folders or a preset folder)")
    return ckpt


def restore_weights(model, ckpt, config, use_average=True):
    """Loads a run's model weights (its weight average when it trained with --ema_decay)."""
    trackables = {"model": model}
    averaged = use_average and config.get("ema_decay", 0.0) > 0
    if averaged:
        variables = trainable_variables(model, config.get("trainable", "all"))
        trackables["weight_average"] = [tf.Variable(tf.zeros_like(v)) for v in variables]
    checkpointing.restore(ckpt, trackables, expect_partial=True)
    if averaged:
        for v, shadow in zip(variables, trackables["weight_average"]):
            v.assign(shadow)
        logging.info("using the run's weight average (--ema_decay=%g)", config["ema_decay"])


def load_trained_model(path, use_average=True):
    """Returns (model, codec, run_config dict) with the trained weights restored.

    A run trained with --ema_decay reports its validation PCKh with the weight average; with
    `use_average` the average is loaded too, so evaluate/predict/export see the same model.
    """
    ckpt = checkpoint_dir(path)
    config = checkpointing.read_state(ckpt)["config"]
    input_size = tuple(config["input_size"])
    model = build_pose_model(config["model"], input_size, config.get("norm", "frozen_bn"),
                             config.get("split_ratio", 2.0),
                             maps_per_joint=config.get("maps_per_joint", 1))
    restore_weights(model, ckpt, config, use_average)
    codec = SimCCCodec(input_size, config.get("split_ratio", 2.0))
    return model, codec, config


_SHAPE_KEYS = ("model", "input_size", "norm", "split_ratio", "maps_per_joint")


def check_compatible(source, wanted, path):
    """`wanted`: this run's {model, input_size, norm, split_ratio, maps_per_joint}; each must
    equal the source run's (a clear error otherwise)."""
    for key in _SHAPE_KEYS:
        if source.get(key) != wanted[key]:
            flag = "--input_size" if key == "input_size" else f"--{key}"
            raise IncompatibleModel(
                f"--init_from={path} holds a model with {flag}={source.get(key)!r}, this run has "
                f"{wanted[key]!r}: use the same setting (or leave --norm=auto to take the source's)")


def init_from_run(model, path, wanted):
    """Loads another run's whole pose model (backbone and head) into `model`; returns the
    source's run config."""
    ckpt = checkpoint_dir(path)
    source = checkpointing.read_state(ckpt)["config"]
    check_compatible(source, wanted, path)
    restore_weights(model, ckpt, source)
    logging.info("Initialised the whole pose model from %s (%s, %s)", path, source.get("method"),
                 source.get("data_description") or source.get("data_dir") or "built-in data")
    return source
