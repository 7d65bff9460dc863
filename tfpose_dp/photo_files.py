"""Photos for inference: a file, a folder or a glob; read upright (EXIF orientation applied).

Phones store a portrait photo as landscape pixels plus an EXIF tag saying "rotate 90";
`read_rgb` applies it (PIL.ImageOps.exif_transpose), so keypoints are in the pixels a viewer
shows. Unreadable files raise ValueError naming the file.
"""

import glob
import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def expand(spec):
    """Image paths of `spec`: a file, a folder (its images, sorted) or a glob pattern."""
    if os.path.isdir(spec):
        names = sorted(os.listdir(spec))
        paths = [os.path.join(spec, n) for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
    elif os.path.isfile(spec):
        paths = [spec]
    else:
        paths = sorted(p for p in glob.glob(spec) if p.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
        raise ValueError(f"--image={spec}: no image file there (a file, a folder or a glob)")
    return paths


def read_rgb(path):
    """(H, W, 3) uint8 RGB, rotated as its EXIF orientation tag says."""
    try:
        with Image.open(path) as image:
            return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    except (OSError, UnidentifiedImageError) as e:
        raise ValueError(f"{path}: not a readable image ({e}); check the file or remove it") from e
