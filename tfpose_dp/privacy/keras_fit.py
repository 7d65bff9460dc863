"""`model.compile(optimizer=PoseDPSGD(...), loss=<per-example loss>)` then `model.fit(...)`
runs this project's private step, never TF Privacy's microbatch loop.

Keras's stock `train_step` computes the batch loss under a tape and hands the tape to
`optimizer.minimize`; per-example gradients from that tape cost one backward pass of the whole
batch per example (`tape.jacobian`, what TF Privacy does). Our step needs the model itself, to
differentiate each example's loss under `tf.vectorized_map` (or the ghost route), so importing
the optimizer installs a dispatch in `tf.keras.Model.train_step`: a model compiled with an
optimizer that has `keras_train_step` runs that step; every other model runs Keras's own step,
unchanged. A model class that overrides `train_step` and calls `minimize` is refused by the
optimizer (`_compute_gradients`), so no path silently trains another way.

The step (`private_train_step`): each example's loss from the compiled loss objects, which must
be per-example (`reduction=NONE`: anything else is refused at the first step, before a weight
moves); the clipped sum, noise from the optimizer's secret key, division by the *expected*
batch size (optimizer.py). Training metrics are not computed (they would need a second forward
pass and are not DP); the step reports `nonprivate_train_loss`, the mean loss of the batch, a
diagnostic of private data without DP. Its name is not `loss`, so callbacks that watch `loss`
by default (EarlyStopping, ReduceLROnPlateau) cannot make the run's control flow depend on one
record without the user asking for it by name.
"""

import tensorflow as tf
from keras.src.engine import compile_utils

NONE = tf.keras.losses.Reduction.NONE
_KERAS_TRAIN_STEP = tf.keras.Model.train_step


def _not_per_example(what):
    # a plain ValueError: tf.function re-raises it as itself (a subclass becomes StagingError)
    return ValueError(
        f"a DP optimizer needs one loss per example, but the compiled loss {what}. Compile "
        "with a Keras loss object built with reduction=tf.keras.losses.Reduction.NONE, e.g. "
        "loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, "
        "reduction=tf.keras.losses.Reduction.NONE), or your own subclass of "
        "tf.keras.losses.Loss whose call(y_true, y_pred) returns one loss per example, built "
        "with reduction=tf.keras.losses.Reduction.NONE"
    )


def per_example_losses(model, y, y_pred, sample_weight=None):
    """(B,) losses: each output's compiled loss (mean over its non-batch axes) times its
    loss weight, summed over outputs, plus the model's regularisation losses."""
    container = model.compiled_loss
    if container is None:
        raise ValueError("compile the model with a per-example loss before fit")
    if not container._built:
        container.build(y_pred)
    outputs = tf.nest.flatten(y_pred)
    targets = tf.nest.flatten(container._conform_to_outputs(y_pred, y))
    if sample_weight is None:
        weights = [None] * len(outputs)
    else:
        weights = tf.nest.flatten(container._conform_to_outputs(y_pred, sample_weight))
    total = None
    terms = zip(targets, outputs, weights, container._losses, container._loss_weights)
    for y_t, y_p, sw, loss, loss_weight in terms:
        if y_t is None or loss is None:
            continue
        name = getattr(loss, "name", loss)
        if loss.reduction != NONE:
            raise _not_per_example(f"{name!r} reduces with {loss.reduction!r}")
        y_t, y_p, sw = compile_utils.match_dtype_and_rank(y_t, y_p, sw)
        value = loss(y_t, y_p, sample_weight=sw)
        if value.shape.rank == 0:
            raise _not_per_example(f"{name!r} returns a scalar")
        value = tf.reduce_mean(tf.reshape(value, [tf.shape(value)[0], -1]), 1)
        if loss_weight is not None:
            value *= loss_weight
        total = value if total is None else total + value
    if total is None:
        raise ValueError("the compiled loss has no term for the model's outputs: pass targets y")
    if model.losses:
        total += tf.add_n(model.losses)
    return total


_RANDOM_LAYERS = (
    tf.keras.layers.Dropout,
    tf.keras.layers.GaussianDropout,
    tf.keras.layers.GaussianNoise,
    tf.keras.layers.AlphaDropout,
)


def check_examples_do_not_interact(model):
    """Refuses layers through which one example changes another's gradient.

    A BatchNormalization that trains normalises with (and updates) batch statistics; a
    dropout-like layer draws its masks from a generator shared by the batch, so a record's mask
    depends on who else was sampled. Either breaks the per-example sensitivity bound.
    """
    for layer in model._flatten_layers(include_self=False):
        batch_stats = getattr(layer, "uses_batch_statistics", True)
        if (
            isinstance(layer, tf.keras.layers.BatchNormalization)
            and layer.trainable
            and batch_stats
        ):
            raise ValueError(
                f"layer {layer.name!r} is a BatchNormalization that would use and update "
                "statistics of private batches: freeze it (layer.trainable = False runs it in "
                "inference mode) or use LayerNormalization / GroupNormalization"
            )
        random_layer = isinstance(layer, _RANDOM_LAYERS) or getattr(
            layer, "draws_batch_randomness", False
        )
        if random_layer and getattr(layer, "rate", getattr(layer, "stddev", 0.0)) > 0:
            raise ValueError(
                f"layer {layer.name!r} draws random masks from a generator shared by the batch, "
                "so one example would change another's gradient under DP: set its rate to 0 "
                "(or remove it) for private training"
            )


def _per_example_loss_fn(model):
    """One example {"image": x, "y": y[, "sample_weight": w]} -> its scalar loss."""

    def loss_fn(example):
        batch = tf.nest.map_structure(lambda t: t[None], example)
        y_pred = model(batch["image"], training=True)
        return per_example_losses(model, batch["y"], y_pred, batch.get("sample_weight"))[0]

    return loss_fn


def _batched_loss_fn(model):
    def loss_fn(y_pred, batch):
        return per_example_losses(model, batch["y"], y_pred, batch.get("sample_weight"))

    return loss_fn


def private_train_step(model, optimizer, data):
    """One private step on one Keras batch: (x, y) or (x, y, sample_weight).

    The batch is the logical batch (e.g. from privacy.poisson_batches, of any size including
    zero): its clipped per-example sum gets noise once and is divided by the optimizer's
    expected batch size. `x` is whatever the model takes (a tensor or a structure); the key
    "image" below is only the name ghost_clipping reads the model's input by.
    """
    x, y, sample_weight = tf.keras.utils.unpack_x_y_sample_weight(data)
    if y is None:
        raise ValueError("a private fit needs targets: pass (x, y) batches")
    batch = {"image": x, "y": y}
    if sample_weight is not None:
        batch["sample_weight"] = sample_weight
    check_examples_do_not_interact(model)
    count = tf.shape(tf.nest.flatten(x)[0])[0]
    variables = model.trainable_variables
    optimizer._ensure_accumulators(variables)
    ghost = (_batched_loss_fn(model), model) if optimizer.clipping == "ghost" else None

    def accumulate():
        mask = tf.ones([count])
        losses, _ = optimizer.accumulate(_per_example_loss_fn(model), batch, mask, variables, ghost)
        return tf.reduce_sum(losses)

    # An empty Poisson draw still takes a step: noise alone, divided by the expected size.
    loss_sum = tf.cond(count > 0, accumulate, lambda: tf.constant(0.0))
    grads = optimizer.private_gradients(variables)
    optimizer.apply_private_gradients(grads, variables)
    mean = loss_sum / tf.cast(tf.maximum(count, 1), loss_sum.dtype)
    return {"nonprivate_train_loss": mean}


def _train_step(self, data):
    step = getattr(self.optimizer, "keras_train_step", None)
    if step is None:
        return _KERAS_TRAIN_STEP(self, data)
    return step(self, data)


def install_train_step():
    """Routes `fit` of models compiled with a DP optimizer to its private step (idempotent)."""
    tf.keras.Model.train_step = _train_step
