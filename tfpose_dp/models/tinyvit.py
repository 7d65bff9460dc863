"""TinyViT backbone builder (Wu et al., "TinyViT: Fast Pretraining Distillation for Small
Vision Transformers", ECCV 2022); architecture numbers as published and as in timm.

Output: the last stage's feature map, (B, ceil(H/32), ceil(W/32), C).
"""

import numpy as np
import tensorflow as tf

from tfpose_dp.models.pixel_normalise import ImageNetNormalise
from tfpose_dp.models.tinyvit_layers import MBConv, PatchEmbed, PatchMerging, TinyViTBlock

VARIANTS = {
    "tiny_vit_5m": dict(
        dims=(64, 128, 160, 320),
        depths=(2, 2, 6, 2),
        heads=(2, 4, 5, 10),
        windows=(7, 7, 14, 7),
        drop_path_rate=0.0,
    ),
    "tiny_vit_11m": dict(
        dims=(64, 128, 256, 448),
        depths=(2, 2, 6, 2),
        heads=(2, 4, 8, 14),
        windows=(7, 7, 14, 7),
        drop_path_rate=0.1,
    ),
    "tiny_vit_21m": dict(
        dims=(96, 192, 384, 576),
        depths=(2, 2, 6, 2),
        heads=(3, 6, 12, 18),
        windows=(7, 7, 14, 7),
        drop_path_rate=0.2,
    ),
    # Not published: a ~0.2M-parameter model with the same structure, for tests and the quickstart.
    "tiny_vit_micro": dict(
        dims=(16, 32, 48, 64),
        depths=(1, 1, 2, 1),
        heads=(1, 2, 3, 4),
        windows=(4, 4, 4, 4),
        drop_path_rate=0.0,
    ),
}


def build_backbone(
    variant, input_shape=(256, 192, 3), norm="frozen_bn", drop_path_rate=None, pixels=False
):
    """Builds a TinyViT feature extractor as a functional Keras model.

    Args:
      variant: one of `VARIANTS`.
      input_shape: (H, W, 3); any size, non-multiples of 32 or of the window included.
      norm: "frozen_bn" or "group" (see `tfpose_dp.models.norms`).
      drop_path_rate: stochastic depth; default the variant's published rate.
      pixels: inputs are RGB pixels in [0, 255], normalised inside (ImageNetNormalise);
        False: inputs are already ImageNet-normalised (timm's convention).

    Returns:
      tf.keras.Model mapping (B, H, W, 3) float images to (B, ceil(H/32), ceil(W/32), C).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown TinyViT variant {variant!r}; choose one of {sorted(VARIANTS)}")
    cfg = VARIANTS[variant]
    dims, depths, heads, windows = cfg["dims"], cfg["depths"], cfg["heads"], cfg["windows"]
    rate = cfg["drop_path_rate"] if drop_path_rate is None else drop_path_rate
    dpr = np.linspace(0.0, rate, sum(depths)).tolist()

    inputs = tf.keras.Input(shape=input_shape, name="image")
    x = ImageNetNormalise(name="normalise")(inputs) if pixels else inputs
    x = PatchEmbed(dims[0], norm=norm, name="patch_embed")(x)
    block = 0
    for i in range(depths[0]):
        x = MBConv(dims[0], drop_path=dpr[block], norm=norm, name=f"stages_0_blocks_{i}")(x)
        block += 1
    for stage in range(1, 4):
        x = PatchMerging(dims[stage], norm=norm, name=f"stages_{stage}_downsample")(x)
        for i in range(depths[stage]):
            x = TinyViTBlock(
                dims[stage],
                heads[stage],
                windows[stage],
                drop_path=dpr[block],
                norm=norm,
                name=f"stages_{stage}_blocks_{i}",
            )(x)
            block += 1
    return tf.keras.Model(inputs, x, name=variant)


def last_stage_prefix():
    """Layer-name prefix of the final stage (for the paper's last-stage fine-tuning)."""
    return "stages_3_"
