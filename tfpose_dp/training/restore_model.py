"""Rebuilds the pose model of a training run from its checkpoint (for evaluate/predict/export).

Accepts a training --model_dir (its newest checkpoint), its checkpoints/ folder or one ckpt dir.
"""
import os

import tensorflow as tf
from absl import logging

from tfpose_dp.models.pose_model import build_pose_model, trainable_variables
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.training import checkpointing


class CheckpointNotFound(FileNotFoundError):
    pass


def run_data_root(config, data_dir=None, synthetic_root=None, synthetic_fallback=(4000, 400, 0)):
    """Folder of the data a run trained on: --data_dir if given, else the run's own data_dir,
    else its synthetic set (written again if absent; it is a function of its sizes and seed)."""
    from tfpose_dp.data.synthetic import ensure_synthetic_dataset  # pylint: disable=import-outside-toplevel
    root = data_dir or config.get("data_dir")
    if root:
        return root
    train, val, seed = config.get("synthetic", synthetic_fallback)
    return ensure_synthetic_dataset(train, val, seed, synthetic_root)


def load_trained_model(path, use_average=True):
    """Returns (model, codec, run_config dict) with the trained weights restored.

    A run trained with --ema_decay reports its validation PCKh with the weight average; with
    `use_average` the average is loaded too, so evaluate/predict/export see the same model.
    """
    ckpt = checkpointing.latest_checkpoint(path) if os.path.exists(path) else None
    if not ckpt:
        raise CheckpointNotFound(f"--checkpoint={path}: no training checkpoint there (expected a "
                                 "--model_dir of tfpose_dp.train or one of its ckpt-* folders)")
    config = checkpointing.read_state(ckpt)["config"]
    input_size = tuple(config["input_size"])
    model = build_pose_model(config["model"], input_size, config.get("norm", "frozen_bn"),
                             config.get("split_ratio", 2.0),
                             maps_per_joint=config.get("maps_per_joint", 1))
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
    codec = SimCCCodec(input_size, config.get("split_ratio", 2.0))
    return model, codec, config
