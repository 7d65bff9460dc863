"""Loads a PyTorch TinyViT state dict (numpy arrays) into our Keras backbone.

Accepts timm naming (`stages.N.*`, `patch_embed.conv1.conv.*`) and the official
microsoft/Cream naming (`layers.N.*`, `patch_embed.seq.0.c.*`, downsample at the end of
the previous layer). Attention-bias tables are resampled when the window differs.
The classification head (`head.*`, `norm_head.*`) is ignored: pose models get a fresh head.
"""

import re

import numpy as np
import tensorflow as tf

_BN = {
    "weight": "gamma",
    "bias": "beta",
    "running_mean": "moving_mean",
    "running_var": "moving_variance",
}
_LN = {"weight": "gamma", "bias": "beta"}
_DENSE = {"weight": "kernel", "bias": "bias"}


class ConversionError(ValueError):
    """The state dict does not match the requested variant."""


def canonical_name(key):
    """Official Cream names -> timm names (identity for timm names)."""
    key = key.replace("patch_embed.seq.0.", "patch_embed.conv1.")
    key = key.replace("patch_embed.seq.2.", "patch_embed.conv2.")
    key = re.sub(r"\.c\.(weight|bias)$", r".conv.\1", key)
    m = re.match(r"layers\.(\d+)\.downsample\.(.*)", key)
    if m:  # official: merging at the end of layer i == timm: start of stage i + 1
        return f"stages.{int(m.group(1)) + 1}.downsample.{m.group(2)}"
    return re.sub(r"^layers\.", "stages.", key)


def _keras_layer(backbone, parts):
    """Resolves a timm module path (list of names) to (keras layer, leftover parts)."""
    if parts[0] == "patch_embed":
        return backbone.get_layer("patch_embed"), parts[1:]
    stage, kind = parts[1], parts[2]
    if kind == "downsample":
        return backbone.get_layer(f"stages_{stage}_downsample"), parts[3:]
    return backbone.get_layer(f"stages_{stage}_blocks_{parts[3]}"), parts[4:]


def _target(layer, rest):
    """(keras variable, layout) for the remaining module path + parameter name."""
    *path, param = rest
    if path and path[-1] in ("conv", "bn"):  # ConvNorm: [conv_name].conv|bn.param
        conv_norm = layer
        for name in path[:-1]:
            conv_norm = getattr(conv_norm, name)
        if path[-1] == "conv":
            return (
                conv_norm.conv.depthwise_kernel if conv_norm.depthwise else conv_norm.conv.kernel,
                "depthwise" if conv_norm.depthwise else "conv",
            )
        return getattr(conv_norm.norm_layer, _BN[param]), "vector"
    if path == ["attn"] and param == "attention_biases":
        return layer.attn.attention_biases, "bias_table"
    if path == ["attn", "norm"]:
        return getattr(layer.attn.norm, _LN[param]), "vector"
    if path[:1] == ["attn"]:
        return getattr(
            getattr(layer.attn, path[1]), _DENSE[param]
        ), "dense" if param == "weight" else "vector"
    if path == ["mlp", "norm"]:
        return getattr(layer.mlp_norm, _LN[param]), "vector"
    if path[:1] == ["mlp"]:
        return getattr(
            getattr(layer, path[1]), _DENSE[param]
        ), "dense" if param == "weight" else "vector"
    raise KeyError(".".join(rest))


def resample_bias_table(table, window):
    """(heads, w0*w0) absolute-offset table -> (heads, window*window), bicubic over (dy, dx)."""
    heads, n = table.shape
    w0 = int(round(n**0.5))
    grid = tf.reshape(tf.transpose(tf.constant(table, tf.float32)), [1, w0, w0, heads])
    out = tf.image.resize(grid, [window, window], method="bicubic")
    return tf.transpose(tf.reshape(out, [window * window, heads])).numpy()


def _to_keras(value, layout, target_shape):
    if layout == "conv":  # torch (out, in, kh, kw) -> keras (kh, kw, in, out)
        return np.transpose(value, (2, 3, 1, 0))
    if layout == "depthwise":  # torch (C, 1, kh, kw) -> keras (kh, kw, C, 1)
        return np.transpose(value, (2, 3, 0, 1))
    if layout == "dense":  # torch (out, in) -> keras (in, out)
        return value.T
    if layout == "bias_table" and value.shape != tuple(target_shape):
        return resample_bias_table(value, int(round(target_shape[1] ** 0.5)))
    return value


def load_state_dict(backbone, state_dict):
    """Assigns every backbone weight from `state_dict` ({name: np.ndarray}); returns the count.

    Raises ConversionError on a shape mismatch or a backbone weight the dict does not cover.
    """
    assigned = set()
    for key, value in state_dict.items():
        key = canonical_name(key)
        if key.startswith(("head.", "norm_head.")) or key.endswith(
            ("attention_bias_idxs", "num_batches_tracked")
        ):
            continue
        try:
            layer, rest = _keras_layer(backbone, key.split("."))
            variable, layout = _target(layer, rest)
        except (KeyError, ValueError, AttributeError, IndexError) as e:
            raise ConversionError(
                f"{key}: no matching Keras weight in {backbone.name} ({e})"
            ) from e
        value = _to_keras(np.asarray(value, np.float32), layout, variable.shape)
        if tuple(value.shape) != tuple(variable.shape):
            raise ConversionError(
                f"{key}: shape {value.shape} does not fit {variable.name} {variable.shape}; "
                "is --variant right?"
            )
        variable.assign(value)
        assigned.add(id(variable))
    missing = [v.name for v in backbone.weights if id(v) not in assigned]
    if missing:
        raise ConversionError(
            f"the checkpoint does not cover {len(missing)} weights, e.g. {missing[:3]}"
        )
    return len(assigned)
