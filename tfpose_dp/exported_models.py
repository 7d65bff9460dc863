"""Exported pose models as a PoseEstimator's forward pass: SavedModel, TFLite and ONNX.

Each loader returns (forward, codec, record): `forward(crops)` takes float RGB pixel crops
(n, H, W, 3), sends them as the artifact's uint8 input and returns {"simcc_x", "simcc_y"};
the codec (crop size, bins, skeleton) is read from the artifact's shapes and its privacy record
(export/provenance.py), so the estimator crops and decodes exactly as for the Keras model.
"""

import json
import os

import numpy as np
import tensorflow as tf

from tfpose_dp.export import provenance
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.skeleton import skeleton_of_record

EXTENSIONS = (".tflite", ".onnx")


def is_exported(path):
    return str(path).endswith(EXTENSIONS) or os.path.exists(os.path.join(path, "saved_model.pb"))


def load_exported(path):
    """(forward, codec, privacy record) of an exported model file or SavedModel folder."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such exported model")
    if path.endswith(".tflite"):
        return _tflite(path)
    if path.endswith(".onnx"):
        return _onnx(path)
    return _saved_model(path)


def _codec(height, width, bins_x, record):
    if not record or "keypoints" not in record:
        raise ValueError("the exported model carries no privacy record naming its keypoints")
    return SimCCCodec((height, width), bins_x / width, skeleton=skeleton_of_record(record))


def _uint8(crops):
    return np.clip(np.round(np.asarray(crops, np.float32)), 0, 255).astype(np.uint8)


def _saved_model(path):
    serve = tf.saved_model.load(path).signatures["serving_default"]
    _, height, width, _ = serve.structured_input_signature[1]["image"].shape
    with open(os.path.join(path, "assets", "privacy.json")) as f:
        record = json.load(f)
    codec = _codec(height, width, serve.structured_outputs["simcc_x"].shape[-1], record)

    def forward(crops, training=False):
        return serve(image=tf.constant(_uint8(crops)))

    return forward, codec, record


def _tflite(path):
    with open(path, "rb") as f:
        content = f.read()
    runner = tf.lite.Interpreter(model_content=content).get_signature_runner()
    details = runner.get_input_details()["image"]
    _, height, width, _ = details["shape"]
    bins_x = runner.get_output_details()["simcc_x"]["shape"][-1]
    record = provenance.read_from_tflite(content)
    codec = _codec(int(height), int(width), int(bins_x), record)

    def forward(crops, training=False):  # batch 1: one call per crop
        outs = [runner(image=crop[None]) for crop in _uint8(crops)]
        return {k: np.concatenate([o[k] for o in outs]) for k in ("simcc_x", "simcc_y")}

    return forward, codec, record


def _onnx(path):
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    (image,) = session.get_inputs()
    _, height, width, _ = image.shape
    outputs = {o.name.split(":")[0]: o for o in session.get_outputs()}
    record = provenance.read_from_onnx(path)
    codec = _codec(int(height), int(width), int(outputs["simcc_x"].shape[-1]), record)
    names = [outputs["simcc_x"].name, outputs["simcc_y"].name]

    def forward(crops, training=False):
        simcc_x, simcc_y = session.run(names, {image.name: _uint8(crops)})
        return {"simcc_x": simcc_x, "simcc_y": simcc_y}

    return forward, codec, record
