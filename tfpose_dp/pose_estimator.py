"""Load a trained pose model and get poses: `tfpose_dp.load(source).predict(image, boxes)`.

A source is a shipped preset (`"preset:public_micro"`), a training MODEL_DIR (its newest
checkpoint, or a `ckpt-*` folder) or an exported model (SavedModel, TFLite, ONNX:
exported_models.py). The estimator crops each
person box (x1.25, widened to the model's aspect: the crop the model was trained on), runs all
crops of an image in one batch (twice with the flip test) and maps the keypoints back to image
pixels. Importing this module defines no command-line flags.
"""

import numpy as np
import tensorflow as tf

from tfpose_dp.data import transforms
from tfpose_dp.eval.flip_test import simcc_logits

_CHUNK = 64  # crops per model call


class PoseEstimator:
    """Poses of the people in an image, in its pixels.

    Attributes:
      keras_model: the Keras model (RGB pixel crops in [0, 255] -> SimCC logits); None for a
        model loaded from an exported SavedModel.
      joint_names: the J joint names, in output order.
      privacy_record: the run's guarantee and provenance (method, epsilon, delta, noise,
        steps, unit of privacy, start model), or None for a non-private model.
      input_size: (H, W) of the crops the model takes.
    """

    def __init__(
        self, forward, codec, privacy_record=None, keras_model=None, flip_test_in_graph=False
    ):
        self._forward, self.codec = forward, codec
        self._flip_in_graph = flip_test_in_graph  # an export with --flip_test: flipped inside
        self.keras_model, self.privacy_record = keras_model, privacy_record
        self.joint_names = list(codec.skeleton.joint_names)
        self.input_size = codec.input_size

    def predict(self, image, boxes=None, flip_test=True):
        """(n, J, 3) float32: each box's joints as (x, y in image pixels, score).

        Args:
          image: HxWx3 RGB array (uint8, or floats in [0, 255]) of any size; HxW grey and
            HxWx4 RGBA are accepted too.
          boxes: (n, 4) person boxes [x, y, w, h] in image pixels, e.g. from a detector;
            None: one person filling the whole image.
          flip_test: average with the mirrored crop (the evaluation protocol; 2x the compute).
        """
        pixels = _rgb(image)
        if boxes is None:
            boxes = [[0.0, 0.0, float(pixels.shape[1]), float(pixels.shape[0])]]
        boxes = _checked_boxes(boxes)
        out = np.zeros([len(boxes), len(self.joint_names), 3], np.float32)
        for start in range(0, len(boxes), _CHUNK):
            part = boxes[start : start + _CHUNK]
            out[start : start + len(part)] = self._predict_boxes(pixels, part, flip_test)
        return out

    def crop_and_targets(self, image, box, joints, visible):
        """One training example for `keras_model.fit`: (crop (H, W, 3) float pixels, targets
        {"simcc_x": (J, bins_x), "simcc_y": (J, bins_y)}), the crop `predict` takes for `box`.

        `joints` (J, 2) in image pixels (0-based), `visible` (J,) 0/1; an unlabelled joint, or
        one outside the crop, gets all-zero target rows (no loss: models/simcc.py SimCCAxisLoss).
        """
        (m,), (crop,) = person_crops(_rgb(image), _checked_boxes(box), self.input_size)
        in_crop = transforms.transform_points(np.asarray(joints, np.float32), tf.linalg.inv(m))
        target_x, target_y, weight = self.codec.encode(in_crop, np.asarray(visible, np.float32))
        w = weight[:, None]
        return crop.numpy(), {"simcc_x": (target_x * w).numpy(), "simcc_y": (target_y * w).numpy()}

    def _predict_boxes(self, pixels, boxes, flip_test):
        matrices, crops = person_crops(pixels, boxes, self.input_size)
        flip = flip_test and not self._flip_in_graph
        logits = simcc_logits(self._forward, tf.stack(crops), self.codec, flip)
        keypoints, scores = self.codec.decode(*logits)
        in_image = [transforms.transform_points(k, m) for k, m in zip(keypoints, matrices)]
        return np.concatenate([np.stack(in_image), scores.numpy()[..., None]], -1)


def person_crops(pixels, boxes, input_size):
    """(crop-to-image matrices, crops (H, W, 3) float pixels) of each [x, y, w, h] box: x1.25
    about its centre, widened or heightened to the input's aspect (export/serving.py)."""
    centres, sizes = transforms.bbox_crop(boxes)
    matrices, crops = [], []
    for centre, size in zip(centres, sizes):
        box = transforms.fit_aspect(size[0], size[1], input_size)
        m = transforms.crop_to_image_matrix(tf.constant(centre), box, input_size)
        matrices.append(m)
        # whole pixel values: the uint8 crop an exported model takes, so every backend of the
        # estimator sees the same input
        crops.append(tf.round(transforms.warp_image(pixels, m, input_size)))
    return matrices, crops


def _rgb(image):
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, -1)
    if pixels.ndim == 3 and pixels.shape[-1] == 4:
        pixels = pixels[..., :3]
    if pixels.ndim != 3 or pixels.shape[-1] != 3 or min(pixels.shape[:2]) < 1:
        raise ValueError(
            f"image has shape {pixels.shape}: pass an HxWx3 RGB array (e.g. "
            "np.asarray(PIL.Image.open(path).convert('RGB')))"
        )
    return pixels.astype(np.float32)


def _checked_boxes(boxes):
    boxes = np.asarray(boxes, np.float32)
    if boxes.ndim == 1 and boxes.size == 4:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes has shape {boxes.shape}: pass an (n, 4) array of [x, y, w, h]")
    bad = ~np.isfinite(boxes).all(1) | (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"box {i} = {boxes[i].tolist()} must be finite [x, y, w, h], w, h > 0")
    return boxes


def load(source):
    """A PoseEstimator from a preset name, a training MODEL_DIR / ckpt folder, or an exported
    model (a SavedModel folder, a .tflite or an .onnx file).

    Raises FileNotFoundError (nothing loadable at `source`) or ValueError.
    """
    from tfpose_dp import presets
    from tfpose_dp.exported_models import is_exported, load_exported

    path = presets.resolve(source)
    if path and is_exported(path):
        forward, codec, record = load_exported(path)
        in_graph = bool(record.get("flip_test_in_graph"))
        return PoseEstimator(forward, codec, _private_only(record), flip_test_in_graph=in_graph)
    return _from_run(source)


def _from_run(source):
    from tfpose_dp.export.provenance import privacy_record
    from tfpose_dp.runs.checkpoints import read_state
    from tfpose_dp.runs.restore import checkpoint_dir, load_trained_model

    model, codec, _ = load_trained_model(source)
    record = privacy_record(read_state(checkpoint_dir(source)))
    return PoseEstimator(model, codec, _private_only(record), keras_model=model)


def _private_only(record):
    """The record of a private run (with or without a guarantee note); None if non-private."""
    return record if record and record.get("epsilon") is not None else None
