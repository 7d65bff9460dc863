"""The deployable graph: uint8 person crops in, keypoints out (no optimizer or privacy state).

Normalisation (the model's first layer) and SimCC decoding are inside the graph, so a phone
app only crops the person box (x1.25 at the model's aspect), runs the model and maps keypoints
back to the image.
"""

import tensorflow as tf

OUTPUTS = ("keypoints", "scores", "simcc_x", "simcc_y")


def serving_function(model, codec, batch_size=None):
    """tf.function: image uint8 [N, H, W, 3] RGB -> {keypoints [N, 16, 2] crop pixels, scores
    [N, 16], simcc_x, simcc_y}. TFLite and ONNX use batch_size=1 (a static shape)."""
    height, width = codec.input_size

    @tf.function(
        input_signature=[tf.TensorSpec([batch_size, height, width, 3], tf.uint8, name="image")]
    )
    def serve(image):
        out = model(tf.cast(image, tf.float32), training=False)
        keypoints, scores = codec.decode(out["simcc_x"], out["simcc_y"])
        return {
            "keypoints": keypoints,
            "scores": scores,
            "simcc_x": out["simcc_x"],
            "simcc_y": out["simcc_y"],
        }

    return serve
