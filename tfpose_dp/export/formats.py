"""Writers for SavedModel, a Keras model file, TFLite (float32 / float16 / dynamic-range /
int8) and ONNX."""

import json
import os
import tempfile

import numpy as np
import tensorflow as tf

from tfpose_dp.export import provenance
from tfpose_dp.export.serving import OUTPUTS, serving_function

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")
ONNX_OPSET = 13


def write_saved_model(model, codec, path, record=None, flip_test=False):
    """SavedModel with a `serving_default` signature (dynamic batch). Only the model's weights
    are tracked (no optimizer slots, PDP basis or privacy ledger); `record` (the privacy
    record) becomes assets/privacy.json."""
    module = tf.Module()
    module.model = model
    module.serve = serving_function(model, codec, flip_test=flip_test)
    if record is not None:
        with tempfile.TemporaryDirectory() as tmp:
            source = os.path.join(tmp, "privacy.json")
            with open(source, "w") as f:
                json.dump(record, f, indent=1)
            module.privacy_record = tf.saved_model.Asset(source)
            tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
        return path
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    return path


def write_keras(model, path):
    """The Keras model (RGB pixel crops in [0, 255] -> SimCC logits) as a `.keras` file:
    `import tfpose_dp.models` (which registers its layers), then tf.keras.models.load_model."""
    model.save(path)
    return path


def tflite_bytes(
    model, codec, quantize="none", representative_images=None, record=None, flip_test=False
):
    """TFLite flatbuffer of the batch-1 serving graph (uint8 input, like mobile pose models):
    outputs in OUTPUTS order (keypoints first), tensors named "image" and by their output;
    `record` (the privacy record) as metadata."""
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"--quantize={quantize!r} is not one of {QUANTIZATIONS}")
    serve = serving_function(model, codec, batch_size=1, flip_test=flip_test)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [serve.get_concrete_function()], model
    )
    if quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantize == "int8":
        if representative_images is None or len(representative_images) == 0:
            raise ValueError(
                "int8 quantisation needs representative images (val or synthetic crops)"
            )
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([img[None]] for img in representative_images)
        # Integer kernels wherever they exist; argmax/softmax decoding may stay in float.
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]
    content = _named_in_order(converter.convert())
    return content if record is None else provenance.add_to_tflite(content, record)


def _named_in_order(content):
    """The converter lists a signature's outputs in no fixed order, each tensor named
    "StatefulPartitionedCall:N"; apps read outputs by index. Reorder to OUTPUTS and name them."""
    from tensorflow.lite.tools import flatbuffer_utils

    flat = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    signature, graph = flat.signatureDefs[0], flat.subgraphs[0]

    def index(tensor_maps):
        return {_text(t.name): t.tensorIndex for t in tensor_maps}

    outputs, inputs = index(signature.outputs), index(signature.inputs)
    graph.outputs = [outputs[name] for name in OUTPUTS]
    for name, i in {**outputs, **inputs}.items():
        graph.tensors[i].name = name.encode()
    return bytes(flatbuffer_utils.convert_object_to_bytearray(flat))


def _text(name):
    return name.decode() if isinstance(name, bytes) else name


def write_onnx(model, codec, path, record=None, flip_test=False):
    """ONNX with a dynamic batch dimension (servers batch crops); `record` as metadata."""
    import tf2onnx

    serve = serving_function(model, codec, flip_test=flip_test)
    tf2onnx.convert.from_function(
        serve, input_signature=serve.input_signature, opset=ONNX_OPSET, output_path=path
    )
    if record is not None:
        provenance.add_to_onnx(path, record)
    return path


def run_tflite(content, image):
    """Runs a TFLite flatbuffer on one uint8 image (1, H, W, 3); returns the output dict."""
    runner = tf.lite.Interpreter(model_content=content).get_signature_runner()
    return runner(image=np.asarray(image, np.uint8))


def file_size_mb(path):
    return os.path.getsize(path) / 2**20
