"""tfpose_dp: differentially private 2D human pose estimation in TensorFlow/Keras.

    import tfpose_dp
    est = tfpose_dp.load("preset:public_micro")       # a preset, a MODEL_DIR or a SavedModel
    poses = est.predict(image, boxes)                  # (n, J, 3): x, y in pixels, score
    tfpose_dp.privacy.PoseDPSGD(...)                   # DP training with Keras compile / fit

docs/api.md is the reference. Importing the package is light: subpackages load when first used,
and nothing defines command-line flags.
"""

import importlib
from importlib import metadata

try:
    __version__ = metadata.version("tfpose_dp")
except metadata.PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

_SUBPACKAGES = ("data", "eval", "export", "models", "privacy", "runs", "training", "presets")


def load(source):
    """A PoseEstimator (pose_estimator.py) from "preset:NAME", a MODEL_DIR or a SavedModel."""
    from tfpose_dp.pose_estimator import load as load_estimator

    return load_estimator(source)


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"tfpose_dp.{name}")
    raise AttributeError(f"module 'tfpose_dp' has no attribute {name!r}")
