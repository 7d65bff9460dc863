"""The pose model: TinyViT backbone + SimCC head, and the trainable-variable policies."""

import tensorflow as tf

from tfpose_dp.models.norms import is_norm_layer
from tfpose_dp.models.simcc import SimCCHead
from tfpose_dp.models.tinyvit import build_backbone, last_stage_prefix
from tfpose_dp.skeleton import NUM_JOINTS

TRAINABLE_CHOICES = ("all", "last_stage", "norms_bias_head", "head")


def build_pose_model(
    variant,
    input_size=(256, 192),
    norm="frozen_bn",
    split_ratio=2.0,
    num_joints=NUM_JOINTS,
    drop_path_rate=None,
    maps_per_joint=1,
):
    """A Keras model: RGB pixels (B, H, W, 3) in [0, 255], float -> dict of SimCC logits.
    The model normalises them itself (its first layer, models/pixel_normalise.py)."""
    height, width = input_size
    backbone = build_backbone(
        variant, (height, width, 3), norm=norm, drop_path_rate=drop_path_rate, pixels=True
    )
    head = SimCCHead(num_joints, (height, width), split_ratio, maps_per_joint, name="simcc_head")
    outputs = head(backbone.output)
    return tf.keras.Model(backbone.input, outputs, name=f"{variant}_simcc")


def trainable_variables(model, policy):
    """The variables a freezing policy trains (the trainer passes exactly these to the optimizer).

    "all": every trainable weight. "last_stage": the paper's fine-tuning setting: the final
    backbone stage, the scale/offset of every normalisation layer, and the head.
    "norms_bias_head": the scale/offset of every normalisation layer, every layer's bias and
    the head (DP-BiTFiT, Bu et al.: few parameters, so little noise in total). "head": the
    SimCC head alone.
    """
    if policy not in TRAINABLE_CHOICES:
        raise ValueError(f"--trainable must be one of {TRAINABLE_CHOICES}, got {policy!r}")
    if policy == "all":
        return list(model.trainable_variables)
    chosen = set()
    for layer in model.layers:
        head = layer.name == "simcc_head"
        if head or (policy == "last_stage" and layer.name.startswith(last_stage_prefix())):
            chosen.update(id(v) for v in layer.trainable_weights)
    for sub in model._flatten_layers(include_self=False):
        if policy in ("last_stage", "norms_bias_head") and is_norm_layer(sub):
            chosen.update(id(v) for v in sub.trainable_weights)
    if policy == "norms_bias_head":
        chosen.update(id(v) for v in model.trainable_variables if _is_bias(v))
    return [v for v in model.trainable_variables if id(v) in chosen]


def _is_bias(variable):
    """A layer's additive bias (Dense, Conv: `.../bias:0`), not an attention-bias table."""
    return variable.name.split("/")[-1].startswith("bias:")


def load_backbone_weights(model, variant, input_size, norm, path):
    """Loads converted TinyViT backbone weights (`.weights.h5`); the head stays fresh."""
    backbone = build_backbone(variant, (input_size[0], input_size[1], 3), norm=norm)
    backbone.load_weights(path)
    for layer in backbone.layers:
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())
