"""Rebuilds the pose model of a training run from its checkpoint (for evaluate/predict/export).

Accepts a training --model_dir (its newest checkpoint), its checkpoints/ folder or one ckpt dir.
"""
import os

from tfpose_dp.models.pose_model import build_pose_model
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


def load_trained_model(path):
    """Returns (model, codec, run_config dict) with the trained weights restored."""
    ckpt = checkpointing.latest_checkpoint(path) if os.path.exists(path) else None
    if not ckpt:
        raise CheckpointNotFound(f"--checkpoint={path}: no training checkpoint there (expected a "
                                 "--model_dir of tfpose_dp.train or one of its ckpt-* folders)")
    config = checkpointing.read_state(ckpt)["config"]
    input_size = tuple(config["input_size"])
    model = build_pose_model(config["model"], input_size, config.get("norm", "frozen_bn"),
                             config.get("split_ratio", 2.0),
                             maps_per_joint=config.get("maps_per_joint", 1))
    checkpointing.restore(ckpt, {"model": model}, expect_partial=True)
    codec = SimCCCodec(input_size, config.get("split_ratio", 2.0))
    return model, codec, config
