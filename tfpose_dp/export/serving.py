"""The deployable graph: uint8 person crops in, keypoints out (no optimizer or privacy state).

Normalisation (the model's first layer) and SimCC decoding are inside the graph, so a phone
app only crops the person box (x1.25 at the model's aspect), runs the model and maps keypoints
back to the image.
"""

import tensorflow as tf

from tfpose_dp.eval.flip_test import simcc_logits

OUTPUTS = ("keypoints", "scores", "simcc_x", "simcc_y")


def serving_function(model, codec, batch_size=None, flip_test=False):
    """tf.function: image uint8 [N, H, W, 3] RGB -> {keypoints [N, J, 2] crop pixels, scores
    [N, J], simcc_x, simcc_y}. TFLite uses batch_size=1 (a static shape). `flip_test`: the
    logits are the mean over the crop and its mirror image (both in one batch inside)."""
    height, width = codec.input_size

    @tf.function(
        input_signature=[tf.TensorSpec([batch_size, height, width, 3], tf.uint8, name="image")]
    )
    def serve(image):
        simcc_x, simcc_y = simcc_logits(model, tf.cast(image, tf.float32), codec, flip_test)
        keypoints, scores = codec.decode(simcc_x, simcc_y)
        return {"keypoints": keypoints, "scores": scores, "simcc_x": simcc_x, "simcc_y": simcc_y}

    return serve
