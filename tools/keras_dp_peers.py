"""Keras-level DP steps for the step benchmark: this project's optimizer through `fit`'s
train step, and TF Privacy 0.9.0's own fast paths on the same model, batch and clip.

* `keras_fit`: PoseDPSGD in `model.compile` (privacy/keras_fit.py: vmap per-example clipping).
* `tfp_vectorized`: `VectorizedDPKerasSGDOptimizer.minimize(per-example losses, tape=...)`:
  per-example gradients from `tape.jacobian` of the batch's losses, clipping vectorised.
* `tfp_dpmodel`: `DPModel` (tensorflow_privacy.privacy.keras_models) with the default fast
  gradient clipping layer registry. Its ghost-norm route needs every trainable layer in the
  registry; TinyViT's custom layers are not, so it takes its own fallback (per-example
  gradients under tf.vectorized_map); `fast_path` in the output says which route ran. XLA off
  (`use_xla=False`; its default compiles with XLA, which made every DP variant slower on CPU).
  Its train step takes the targets as one tensor (`tf.shape(y)` fails on the pose model's two
  outputs), so it runs on a one-output wrapper: simcc_x and simcc_y concatenated over bins.
"""

import tensorflow as tf

from tfpose_dp.models.simcc import SimCCAxisLoss
from tfpose_dp.privacy.optimizer import PoseDPSGD
from tfpose_dp.training.steps import batched_losses

KERAS_MODES = ("keras_fit", "tfp_vectorized", "tfp_dpmodel")


def _targets(batch):
    w = batch["target_weight"][..., None]
    return {"simcc_x": batch["target_x"] * w, "simcc_y": batch["target_y"] * w}


def _losses():
    return {"simcc_x": SimCCAxisLoss(), "simcc_y": SimCCAxisLoss()}


def keras_step(mode, model, batch, expected_batch_size):
    """(step function taking no arguments, {extra facts}) for one of KERAS_MODES."""
    x, y = batch["image"], _targets(batch)
    if mode == "keras_fit":
        model.compile(
            optimizer=PoseDPSGD(
                l2_norm_clip=1.0,
                noise_multiplier=1.0,
                expected_batch_size=expected_batch_size,
                learning_rate=1e-3,
            ),
            loss=_losses(),
        )
        return lambda: model.train_on_batch(x, y), {}
    if mode == "tfp_vectorized":
        from tensorflow_privacy import VectorizedDPKerasSGDOptimizer

        opt = VectorizedDPKerasSGDOptimizer(
            l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=1e-3
        )
        variables = model.trainable_variables

        @tf.function
        def step():
            with tf.GradientTape(persistent=True) as tape:
                loss = batched_losses(model(x, training=True), batch)
            opt.minimize(loss, variables, tape=tape)

        return step, {}
    if mode == "tfp_dpmodel":
        from tensorflow_privacy.privacy.fast_gradient_clipping import layer_registry
        from tensorflow_privacy.privacy.keras_models.dp_keras_model import DPModel

        bins_x = y["simcc_x"].shape[-1]
        out = model.outputs[0] if len(model.outputs) == 1 else model.output
        joined = tf.keras.layers.Concatenate(-1)([out["simcc_x"], out["simcc_y"]])
        dp_model = DPModel(
            l2_norm_clip=1.0,
            noise_multiplier=1.0,
            use_xla=False,
            layer_registry=layer_registry.make_default_layer_registry(),
            inputs=model.inputs,
            outputs=joined,
        )

        class JoinedLoss(tf.keras.losses.Loss):
            def call(self, y_true, y_pred):
                axis = SimCCAxisLoss()
                x_part = axis(y_true[..., :bins_x], y_pred[..., :bins_x])
                return x_part + axis(y_true[..., bins_x:], y_pred[..., bins_x:])

        loss = JoinedLoss(reduction=tf.keras.losses.Reduction.NONE)
        dp_model.compile(optimizer=tf.keras.optimizers.legacy.SGD(1e-3), loss=loss)
        y_joined = tf.concat([y["simcc_x"], y["simcc_y"]], -1)
        fast = bool(dp_model._enable_fast_peg_computation)
        return lambda: dp_model.train_on_batch(x, y_joined), {"tfp_dpmodel_fast_path": fast}
    raise ValueError(f"unknown Keras mode {mode!r}")
