"""Skeleton drawing shared by predict, the trainer's TensorBoard images and the tools."""

import numpy as np
from PIL import Image, ImageDraw

# One colour per limb: right side warm, left side cool, trunk and head neutral.
_LIMB_COLOURS = [
    (255, 64, 64),
    (255, 128, 0),
    (255, 200, 0),
    (0, 200, 255),
    (0, 128, 255),
    (64, 64, 255),
    (200, 200, 200),
    (220, 220, 220),
    (255, 255, 255),
    (255, 0, 128),
    (255, 80, 160),
    (255, 160, 200),
    (0, 255, 128),
    (0, 200, 80),
    (0, 160, 40),
]


def draw_skeleton(image, keypoints, scores, skeleton, threshold=0.0):
    """Returns a PIL image with the skeleton's limbs (coloured per limb) and joints scoring
    >= threshold."""
    canvas = Image.fromarray(image).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    width = max(2, int(round(max(canvas.size) / 200)))
    colours = _LIMB_COLOURS * (1 + len(skeleton.limbs) // len(_LIMB_COLOURS))
    for (a, b), colour in zip(skeleton.limbs, colours):
        if scores[a] >= threshold and scores[b] >= threshold:
            draw.line([tuple(keypoints[a]), tuple(keypoints[b])], fill=colour, width=width)
    for (x, y), s in zip(keypoints, scores):
        if s >= threshold:
            draw.ellipse(
                [x - width * 1.5, y - width * 1.5, x + width * 1.5, y + width * 1.5],
                fill=(255, 255, 255),
                outline=(0, 0, 0),
            )
    return canvas


def crop_to_uint8(crop):
    """A model input crop (float RGB pixels, models/pixel_normalise.py) -> uint8 (H, W, 3)."""
    return np.clip(np.round(np.asarray(crop)), 0, 255).astype(np.uint8)
