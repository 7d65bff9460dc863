"""The run's privacy record, carried inside every exported artifact.

A model that leaves the training machine should say what guarantee it was trained under: the
method, (epsilon, delta), noise multiplier, steps, sampling rate, unit of privacy and accountant,
read from the checkpoint's state (public configuration and accountant output only), and the
joints the outputs stand for (keypoint set, joint names in output order). It travels
as `assets/privacy.json` in the SavedModel, a `tfpose_dp_privacy` metadata buffer in TFLite and
a `tfpose_dp_privacy` metadata property in ONNX.
"""

import json

from tfpose_dp.runs.manifest import Manifest
from tfpose_dp.skeleton import skeleton_of

METADATA_NAME = "tfpose_dp_privacy"


def privacy_record(state):
    """JSON-able record from a checkpoint's state.json dict (its manifest and ledger)."""
    manifest = Manifest.from_state(state)
    config, plan = manifest.config, manifest.plan or {}
    ledger = json.loads(state["ledger"]) if state.get("ledger") else {"segments": []}
    segments = ledger.get("segments", [])
    private = not config.privacy.nonprivate
    skeleton = skeleton_of(config.model)
    record = {
        "method": config.method,
        "dp_guarantee": private and not config.privacy.reproducible_noise,
        "epsilon": state.get("epsilon") if private else None,
        "delta": plan.get("delta"),
        "epsilon_target": plan.get("epsilon"),
        "noise_multiplier": plan.get("noise_multiplier"),
        "steps": sum(s[2] for s in segments) if private else state.get("step"),
        "sampling_rate": plan.get("sampling_rate"),
        "accountant": plan.get("accountant"),
        "l2_norm_clip": plan.get("l2_norm_clip"),
        # Runs before the image-level unit recorded none: theirs was one person record.
        "unit_of_privacy": plan.get("unit_of_privacy", "one person record") if private else None,
        "num_private_examples": manifest.num_private_examples,
        # The start model's own method, data and guarantee, not only its path.
        "initialised_from": manifest.start or config.model.init_from,
        # What the outputs mean: joint k of simcc_x / simcc_y is joint_names[k].
        "keypoints": config.model.keypoints,
        "joint_names": list(skeleton.joint_names),
        "skeleton": skeleton.to_json(),
    }
    if not private:
        record["note"] = "NON-PRIVATE model: trained without differential privacy"
    elif config.privacy.reproducible_noise:
        record["note"] = "NO DP GUARANTEE: the noise came from a public seed (--reproducible_noise)"
    return record


def model_io(codec, flip_test_in_graph):
    """What the exported graph takes and returns, for app code (TFLite outputs in this order)."""
    height, width = codec.input_size
    joints = codec.skeleton.num_joints
    return {
        "input": f"image: uint8 [N, {height}, {width}, 3] RGB, 0-255, normalised inside",
        "outputs": [
            f"keypoints: float32 [N, {joints}, 2] crop pixels (x, y), joint k = joint_names[k]",
            f"scores: float32 [N, {joints}] in [0, 1]",
            f"simcc_x: float32 [N, {joints}, {codec.bins_x}] logits over x bins",
            f"simcc_y: float32 [N, {joints}, {codec.bins_y}] logits over y bins",
        ],
        "crop": "box (x, y, w, h) + 25 % about its centre, widened to W:H (docs/export.md)",
        "flip_test_in_graph": bool(flip_test_in_graph),
    }


def add_to_tflite(content, record):
    """Returns the TFLite flatbuffer with the record as a named metadata buffer."""

    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    buffer = schema.BufferT()
    buffer.data = list(json.dumps(record).encode())
    model.buffers.append(buffer)
    metadata = schema.MetadataT()
    metadata.name = METADATA_NAME
    metadata.buffer = len(model.buffers) - 1
    model.metadata = (model.metadata or []) + [metadata]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def read_from_tflite(content):
    """The record stored by `add_to_tflite`, or None."""

    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    for metadata in model.metadata or []:
        name = metadata.name.decode() if isinstance(metadata.name, bytes) else metadata.name
        if name == METADATA_NAME:
            return json.loads(bytes(model.buffers[metadata.buffer].data).decode())
    return None


def add_to_onnx(path, record):
    import onnx

    model = onnx.load(path)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_NAME, json.dumps(record)
    onnx.save(model, path)


def read_from_onnx(path):
    import onnx

    for entry in onnx.load(path).metadata_props:
        if entry.key == METADATA_NAME:
            return json.loads(entry.value)
    return None


def describe(record):
    """One line for the console."""
    if not record.get("dp_guarantee"):
        return f"privacy: {record.get('note')} (method {record.get('method')})"
    return (
        f"privacy: ({record['epsilon']:.4g}, {record['delta']:.3g})-DP for "
        f"{record['unit_of_privacy']}; {record['method']}, sigma={record['noise_multiplier']:.4g}, "
        f"q={record['sampling_rate']:.4g}, "
        f"{record['steps']} steps, {record['accountant'].upper()} accountant"
    )
