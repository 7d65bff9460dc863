"""Per-example clipping without the whole model's per-example gradients (`--clipping=ghost`).

One batched forward pass records, for every layer that owns trainable variables, its inputs
and output; one batched backward pass gives the gradient of the summed loss at each recorded
output, which for example i is the gradient of loss_i alone (examples do not interact: no
batch statistics; see models/norms.py). A variable's per-example gradient depends only on
its layer's input and output gradient, so each example's squared norm is a sum over layers:

* Dense (linear activation), and convolutions written as matmuls over rows (ConvNorm's 1x1
  and strided convs, through their `ghost_rows_and_grads`): the "ghost norm" (Goodfellow
  2015; Li et al. 2022), ||x_i^T g_i||^2 = <x_i x_i^T, g_i g_i^T> over the T rows of example
  i, or the direct ||x_i^T g_i||^2 when T^2 > d_in * d_out (mixed ghost clipping, Bu et al.
  2022, picks the cheaper per layer); no (B, d_in, d_out) tensor on the Gram route.
* LayerNorm / GroupNorm / (frozen) BatchNorm scale and offset: closed form from xhat and g.
* Any other layer (depthwise convs, the attention bias table): its per-example
  gradients from its own recorded input (the layer's call differentiated under
  `tf.vectorized_map`): one small layer at a time instead of the whole model at once. A
  layer may name a narrower method to record instead of `call` (`ghost_recorded_method`;
  the attention's bias add, so that its table's gradients do not re-run the attention).

The clipped sum sum_i f_i g_i, f_i = min(1, C / ||g_i||), then comes from the same recorded
inputs and output gradients ("book-keeping", Bu et al. 2023): sum_i f_i x_i^T g_i for the
matmul layers, the weighted sum of the per-example gradients already computed for the others;
no second backward pass. It equals `clipping.clipped_sum` to float tolerance
(tests/privacy/test_ghost_clipping.py), so the sensitivity is the same: C per example. A chunk
with a non-finite norm takes the exact path, which zeroes such examples; both paths compute
the same function, so the choice reveals nothing extra.

A variable is assigned to the innermost *called* layer that owns it (a ConvNorm that uses its
inner Conv2D's kernel in its own einsum owns that kernel). The layers' leading axis must be
the examples, or examples times a fixed factor in example-major order (attention windows).
"""

import dataclasses

import tensorflow as tf

from tfpose_dp.privacy import clipping


@dataclasses.dataclass
class _Call:
    layer: tf.keras.layers.Layer
    call: object  # the layer's own (unwrapped) call
    args: tuple
    kwargs: dict
    output: object


def _owning_layers(model, variables):
    """Every layer (nested) whose trainable weights include one of `variables`."""
    wanted = {id(v) for v in variables}
    return [
        layer
        for layer in model._flatten_layers(include_self=False)
        if any(id(w) in wanted for w in layer.trainable_weights)
    ]


def _recorded_method(layer):
    """`call`, or the method a layer names as the narrowest one that uses its own variables
    (models/tinyvit_layers.py WindowAttention: the bias table's add, not the whole attention)."""
    return getattr(layer, "ghost_recorded_method", "call")


def record_forward(model, inputs, variables):
    """model(inputs, training=True), recording every call of a layer owning `variables`."""
    calls = []
    layers = _owning_layers(model, variables)

    def recorder(layer, call):
        def recording_call(*args, **kwargs):
            output = call(*args, **kwargs)
            calls.append(_Call(layer, call, args, kwargs, output))
            return output

        return recording_call

    for layer in layers:
        name = _recorded_method(layer)
        object.__setattr__(layer, name, recorder(layer, getattr(layer, name)))
    try:
        outputs = model(inputs, training=True)
    finally:
        for layer in layers:
            object.__delattr__(layer, _recorded_method(layer))
    return outputs, calls


class GhostClippingError(ValueError):
    """The model uses a variable ghost clipping cannot attribute to a recorded layer call."""


def _assign_variables(calls, variables):
    """{call index: [variables]}: each variable to the called layer with the fewest weights
    that owns it (the innermost), and every call of that layer. A variable no called layer
    owns is left out (clipped_sum checks that it has no gradient)."""
    owner = {}
    for v in variables:
        candidates = [c.layer for c in calls if any(w is v for w in c.layer.trainable_weights)]
        if candidates:
            owner[id(v)] = min(candidates, key=lambda layer: len(layer.trainable_weights))
    assigned = {}
    for index, c in enumerate(calls):
        mine = [v for v in variables if owner.get(id(v)) is c.layer]
        if mine:
            assigned[index] = mine
    return assigned


def _by_example(tensor, batch):
    """(batch * r, ...) -> (batch, r, ...): the rows of each example together."""
    return tf.reshape(tensor, tf.concat([[batch, -1], tf.shape(tensor)[1:]], 0))


class _MatmulGhost:
    """A kernel used as x @ W (+ bias) over rows: squared norms from x and the output gradient
    g, clipped sum sum_i f_i x_i^T g_i (Dense; ConvNorm's matmul-form convs).

    Direct route (T^2 > d_in * d_out): the per-example kernel gradients x_i^T g_i are formed
    once, for the norms and then for the weighted sum (B d_in d_out reads, no second product).
    Gram route: norms from the (T, T) Gram matrices, the sum as one (BT, d_in)^T (BT, d_out)
    product of the factor-scaled rows."""

    def __init__(self, owned, x, g, batch, use_bias):
        self.variables = owned  # [kernel] or [kernel, bias]
        d_in, d_out = x.shape[-1], g.shape[-1]
        rows = x.shape[:-1].num_elements()  # examples x tokens, when static
        tokens = rows // batch if rows is not None and isinstance(batch, int) else None
        self.x = tf.reshape(x, [batch, -1, d_in])
        self.g = tf.reshape(g, [batch, -1, d_out])
        self.kernel_grads = None
        if tokens is not None and tokens * tokens <= d_in * d_out:
            # In float64: <X X^T, G G^T> sums T^2 terms that can cancel (rows with a common
            # offset against output gradients summing to ~0); in float32 that under-estimated
            # a norm 4.5x, letting f_i g_i exceed C. Products of float32 are exact in float64.
            x64, g64 = tf.cast(self.x, tf.float64), tf.cast(self.g, tf.float64)
            gram_x = tf.matmul(x64, x64, transpose_b=True)
            gram_g = tf.matmul(g64, g64, transpose_b=True)
            exact = tf.maximum(tf.reduce_sum(gram_x * gram_g, [1, 2]), 0.0)
            squares = [tf.cast(exact, tf.float32)]
        else:
            self.kernel_grads = [tf.matmul(self.x, self.g, transpose_a=True)]
            squares = clipping.squared_norms(self.kernel_grads)
        if use_bias:
            self.bias_grads = tf.reduce_sum(self.g, 1)
            squares += clipping.squared_norms([self.bias_grads])
        self.use_bias = use_bias
        self.squares = tf.add_n(squares)

    def clipped_sums(self, factors):
        if self.kernel_grads is not None:
            kernel = clipping.weighted_sum(self.kernel_grads, factors)[0]
        else:
            d_in, d_out = self.x.shape[-1], self.g.shape[-1]
            scaled = self.g * factors[:, None, None]
            kernel = tf.matmul(
                tf.reshape(self.x, [-1, d_in]), tf.reshape(scaled, [-1, d_out]), transpose_a=True
            )
        sums = [tf.reshape(kernel, self.variables[0].shape)]  # a conv kernel: (k, k, C, F)
        if self.use_bias:
            sums.append(clipping.weighted_sum([self.bias_grads], factors)[0])
        return sums


class _PerExample:
    """Any other layer's part: its per-example gradients (summed over its calls)."""

    def __init__(self, owned, grads):
        self.variables, self.grads = owned, grads
        self.squares = tf.add_n(clipping.squared_norms(grads))

    def clipped_sums(self, factors):
        return clipping.weighted_sum(self.grads, factors)


def _matmul_part(call, owned, grad, batch):
    """A _MatmulGhost for a Dense layer (linear activation) or a layer offering
    `ghost_kernel` / `ghost_rows_and_grads` (models/tinyvit_layers.py ConvNorm); else None."""
    layer = call.layer
    if (
        type(layer) is tf.keras.layers.Dense
        and layer.activation is tf.keras.activations.linear
        and len(owned) == len(layer.trainable_weights)
    ):
        return _MatmulGhost(owned, call.args[0], grad, batch, layer.use_bias)
    kernel = getattr(layer, "ghost_kernel", None)
    if kernel is not None and len(owned) == 1 and owned[0] is kernel:
        rows, g = layer.ghost_rows_and_grads(*call.args, grad, **call.kwargs)
        return _MatmulGhost(owned, rows, g, batch, use_bias=False)
    return None


_NORMS = (
    tf.keras.layers.LayerNormalization,
    tf.keras.layers.GroupNormalization,
    tf.keras.layers.BatchNormalization,
)


def _norm_affine_part(call, owned, grad, batch):
    """Per-example gradients of a normalisation layer's scale and offset in closed form:
    out = xhat * gamma + beta per channel (last axis), so d gamma_i = sum xhat_i g_i and
    d beta_i = sum g_i over example i's positions; xhat is d out / d gamma along ones (one
    batched forward-mode pass). None when the layer is not of that form."""
    layer = call.layer
    if not isinstance(layer, _NORMS) or len(call.args) != 1:
        return None
    axis = getattr(layer, "axis", None)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    if axis not in (-1, len(call.args[0].shape) - 1):
        return None
    if not (layer.scale and layer.center) or [id(v) for v in owned] != [
        id(layer.gamma),
        id(layer.beta),
    ]:
        return None
    with tf.autodiff.ForwardAccumulator(layer.gamma, tf.ones_like(layer.gamma)) as acc:
        out = call.call(*call.args, **call.kwargs)
    xhat = acc.jvp(out)
    channels = grad.shape[-1]
    g = tf.reshape(grad, [batch, -1, channels])
    xhat = tf.reshape(xhat, [batch, -1, channels])
    return _PerExample(owned, [tf.reduce_sum(xhat * g, 1), tf.reduce_sum(g, 1)])


def _layer_per_example_gradients(call, owned, grad, batch):
    """Per-example gradients of `owned` from one recorded call and its output gradient."""
    tensors = [a for a in call.args if tf.is_tensor(a)]
    if len(tensors) != len(call.args):
        raise ValueError(f"{call.layer.name}: non-tensor positional arguments are not supported")
    grouped = [_by_example(t, batch) for t in tensors]
    grads = tf.nest.map_structure(lambda t: _by_example(t, batch), grad)

    def one_example(example):
        args, out_grad = example
        with tf.GradientTape() as tape:
            tape.watch(owned)
            output = call.call(*args, **call.kwargs)
        return tape.gradient(output, owned, output_gradients=out_grad, unconnected_gradients="zero")

    return tf.vectorized_map(one_example, (grouped, grads))


def layer_parts(calls, output_grads, assigned, batch):
    """One part per layer owning variables: .variables, .squares (B,), .clipped_sums(f)."""
    parts, per_layer = [], {}  # a layer called more than once: its gradients summed first
    for index, owned in assigned.items():
        call, grad = calls[index], output_grads[index]
        calls_of_layer = sum(1 for c in calls if c.layer is call.layer)
        part = None
        if calls_of_layer == 1:
            part = _matmul_part(call, owned, grad, batch) or _norm_affine_part(
                call, owned, grad, batch
            )
        if part is not None:
            parts.append(part)
            continue
        grads = _layer_per_example_gradients(call, owned, grad, batch)
        key = id(call.layer)
        if key in per_layer:
            grads = [a + b for a, b in zip(per_layer[key][1], grads)]
        per_layer[key] = (owned, grads)
    return parts + [_PerExample(owned, grads) for owned, grads in per_layer.values()]


def clipped_sum(batched_loss_fn, model, inputs, mask, variables, l2_norm_clip, exact_fallback):
    """(per-example losses, clipped gradient sum aligned with `variables`, per-example norms).

    batched_loss_fn(model_outputs, inputs) -> (B,) losses. exact_fallback() -> (sums, norms)
    from `clipping.clipped_sum`, used for a chunk where some example's norm is not finite.
    """
    with tf.GradientTape() as tape:
        outputs, calls = record_forward(model, inputs["image"], variables)
        losses = batched_loss_fn(outputs, inputs)
        total = tf.reduce_sum(losses)
    assigned = _assign_variables(calls, variables)
    batch = losses.shape[0] if losses.shape[0] is not None else tf.shape(losses)[0]
    indices = sorted(assigned)
    owned = {id(v) for vs in assigned.values() for v in vs}
    unowned = [v for v in variables if id(v) not in owned]
    grads = tape.gradient(total, [calls[i].output for i in indices] + unowned)
    output_grads = grads[: len(indices)]
    used = [v.name for v, g in zip(unowned, grads[len(indices) :]) if g is not None]
    if used:  # a zero norm for a variable that moves the loss would break the clip bound
        raise GhostClippingError(
            f"--clipping=ghost cannot attribute {used[0]} to a called layer (a weight the "
            "model adds itself, or one a layer uses outside its own call): train with "
            "--clipping=vmap, or create the weight in the layer that uses it"
        )
    parts = layer_parts(calls, dict(zip(indices, output_grads)), assigned, batch)
    norms = tf.sqrt(tf.add_n([tf.zeros([batch])] + [part.squares for part in parts]))
    factors = clipping.clip_factors(norms, l2_norm_clip, mask)
    by_variable = {}
    for part in parts:  # book-keeping: the clipped sum from the same x and g, no 2nd backward
        by_variable.update(zip(map(id, part.variables), part.clipped_sums(factors)))
    sums = [by_variable.get(id(v), tf.zeros_like(v)) for v in variables]
    finite = tf.reduce_all(tf.math.is_finite(norms))
    sums, norms = tf.cond(finite, lambda: (sums, norms), exact_fallback)
    return losses, sums, norms
