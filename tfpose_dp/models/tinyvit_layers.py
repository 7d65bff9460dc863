"""Building blocks of TinyViT (Wu et al., ECCV 2022) as Keras 2 layers, NHWC.

Layout and numerics follow the reference PyTorch model (conv without bias + norm,
exact GELU, LayerNorm/BatchNorm eps 1e-5, torch-style symmetric padding) so that
converted weights give the same features.
"""

import numpy as np
import tensorflow as tf

from tfpose_dp.models.norms import make_norm

_LN_EPS = 1e-5


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class ConvNorm(tf.keras.layers.Layer):
    """Conv (no bias) + norm; `depthwise=True` gives the grouped conv with groups=channels."""

    def __init__(
        self,
        filters,
        kernel_size=1,
        strides=1,
        depthwise=False,
        norm="frozen_bn",
        zero_init_norm=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
        self.depthwise, self.norm, self.zero_init_norm = depthwise, norm, zero_init_norm
        if depthwise:
            self.conv = tf.keras.layers.DepthwiseConv2D(
                kernel_size, strides, use_bias=False, name="conv"
            )
        else:
            self.conv = tf.keras.layers.Conv2D(
                filters, kernel_size, strides, use_bias=False, name="conv"
            )
        self.norm_layer = make_norm(norm, filters, zero_init=zero_init_norm, name="norm")

    def build(self, input_shape):
        self.conv.build(input_shape)
        super().build(input_shape)

    def call(self, x, training=None):
        if self.depthwise:
            return self.norm_layer(self.conv(self._pad(x)), training=training)
        return self.norm_layer(self._matmul(self.matmul_rows(x)), training=training)

    def _pad(self, x):
        pad = (self.kernel_size - 1) // 2  # torch padding=(k-1)//2 on both sides
        return tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) if pad else x

    def _matmul(self, rows):
        kernel = tf.reshape(self.conv.kernel, [-1, self.filters])  # (k*k*C, filters), same order
        return tf.einsum("bhwp,pd->bhwd", rows, kernel)

    def matmul_rows(self, x):
        """The rows the (non-depthwise) kernel multiplies, (B, h, w, k*k*C): x itself for 1x1,
        im2col patches from strided slices otherwise. Slices and matmuls vectorise over
        examples; Conv2DBackpropFilter and ExtractImagePatches do not (same weights as the
        Conv2D)."""
        if self.kernel_size == 1 and self.strides == 1:
            return x
        x = self._pad(x)
        k, s = self.kernel_size, self.strides
        h_out = (x.shape[1] - k) // s + 1
        w_out = (x.shape[2] - k) // s + 1
        return tf.concat(
            [
                x[:, i : i + s * (h_out - 1) + 1 : s, j : j + s * (w_out - 1) + 1 : s, :]
                for i in range(k)
                for j in range(k)
            ],
            axis=-1,
        )

    @property
    def ghost_kernel(self):
        """The variable `ghost_rows_and_grads` describes (None: depthwise, whose conv is its own
        layer)."""
        return None if self.depthwise else self.conv.kernel

    def ghost_rows_and_grads(self, x, output_grad, training=None):
        """(rows, g) with the kernel's gradient = sum over rows of rows^T g (privacy/
        ghost_clipping.py): g is the output gradient taken back through the norm."""
        rows = self.matmul_rows(x)
        y = self._matmul(rows)
        with tf.GradientTape() as tape:
            tape.watch(y)
            out = self.norm_layer(y, training=training)
        return rows, tape.gradient(out, y, output_gradients=output_grad)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "depthwise": self.depthwise,
            "norm": self.norm,
            "zero_init_norm": self.zero_init_norm,
        }


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class DropPath(tf.keras.layers.Layer):
    """Stochastic depth: drops the residual branch per example with probability `rate`."""

    draws_batch_randomness = True  # a shared generator: refused under DP (privacy/keras_fit.py)

    def __init__(self, rate=0.0, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, x, training=None):
        if not training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        shape = tf.concat([tf.shape(x)[:1], tf.ones([tf.rank(x) - 1], tf.int32)], 0)
        mask = tf.floor(keep + tf.random.uniform(shape, dtype=x.dtype))
        return x / keep * mask

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class PatchEmbed(tf.keras.layers.Layer):
    """Two stride-2 3x3 ConvNorms with GELU between: total stride 4."""

    def __init__(self, dim, norm="frozen_bn", **kwargs):
        super().__init__(**kwargs)
        self.dim, self.norm = dim, norm
        self.conv1 = ConvNorm(dim // 2, 3, 2, norm=norm, name="conv1")
        self.conv2 = ConvNorm(dim, 3, 2, norm=norm, name="conv2")

    def call(self, x, training=None):
        return self.conv2(tf.nn.gelu(self.conv1(x, training=training)), training=training)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "norm": self.norm}


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class MBConv(tf.keras.layers.Layer):
    """Inverted residual block of stage 1 (expand ratio 4)."""

    def __init__(self, dim, expand_ratio=4.0, drop_path=0.0, norm="frozen_bn", **kwargs):
        super().__init__(**kwargs)
        self.dim, self.expand_ratio, self.drop_path, self.norm = dim, expand_ratio, drop_path, norm
        hidden = int(dim * expand_ratio)
        self.conv1 = ConvNorm(hidden, 1, norm=norm, name="conv1")
        self.conv2 = ConvNorm(hidden, 3, depthwise=True, norm=norm, name="conv2")
        self.conv3 = ConvNorm(dim, 1, norm=norm, zero_init_norm=True, name="conv3")
        self.drop = DropPath(drop_path)

    def call(self, x, training=None):
        y = tf.nn.gelu(self.conv1(x, training=training))
        y = tf.nn.gelu(self.conv2(y, training=training))
        y = self.conv3(y, training=training)
        return tf.nn.gelu(x + self.drop(y, training=training))

    def get_config(self):
        return {
            **super().get_config(),
            "dim": self.dim,
            "expand_ratio": self.expand_ratio,
            "drop_path": self.drop_path,
            "norm": self.norm,
        }


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class PatchMerging(tf.keras.layers.Layer):
    """1x1 conv -> depthwise 3x3 stride 2 -> 1x1 conv: halves the resolution."""

    def __init__(self, out_dim, norm="frozen_bn", **kwargs):
        super().__init__(**kwargs)
        self.out_dim, self.norm = out_dim, norm
        self.conv1 = ConvNorm(out_dim, 1, norm=norm, name="conv1")
        self.conv2 = ConvNorm(out_dim, 3, 2, depthwise=True, norm=norm, name="conv2")
        self.conv3 = ConvNorm(out_dim, 1, norm=norm, name="conv3")

    def call(self, x, training=None):
        x = tf.nn.gelu(self.conv1(x, training=training))
        x = tf.nn.gelu(self.conv2(x, training=training))
        return self.conv3(x, training=training)

    def get_config(self):
        return {**super().get_config(), "out_dim": self.out_dim, "norm": self.norm}


def relative_position_index(window):
    """Index into the bias table for every (query, key) pair of a window.

    TinyViT's table holds one bias per head and per *absolute* offset
    (|dy|, |dx|), stored at column dy * window + dx.

    >>> relative_position_index(2).tolist()
    [[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]]
    """
    ys, xs = np.meshgrid(np.arange(window), np.arange(window), indexing="ij")
    pts = np.stack([ys.ravel(), xs.ravel()], 1)
    diff = np.abs(pts[:, None, :] - pts[None, :, :])
    return (diff[..., 0] * window + diff[..., 1]).astype(np.int32)


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class WindowAttention(tf.keras.layers.Layer):
    """Multi-head self-attention inside one window of tokens, with learned position bias."""

    def __init__(self, dim, num_heads, window, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.num_heads, self.window = dim, num_heads, window
        self.head_dim = dim // num_heads
        self.norm = tf.keras.layers.LayerNormalization(epsilon=_LN_EPS, name="norm")
        self.qkv = tf.keras.layers.Dense(3 * dim, name="qkv")
        self.proj = tf.keras.layers.Dense(dim, name="proj")
        self.index = relative_position_index(window)  # numpy: embedded as a graph constant

    def build(self, input_shape):
        self.attention_biases = self.add_weight(
            "attention_biases", (self.num_heads, self.window * self.window), initializer="zeros"
        )
        super().build(input_shape)

    def call(self, x):
        """x: (windows, tokens, dim) -> same shape."""
        n = tf.shape(x)[1]
        x = self.norm(x)
        # Per head the channels are [q | k | v], as in the reference layout.
        qkv = tf.reshape(self.qkv(x), [-1, n, self.num_heads, 3 * self.head_dim])
        qkv = tf.transpose(qkv, [0, 2, 1, 3])
        q, k, v = tf.split(qkv, 3, axis=-1)
        attn = self.add_position_bias(tf.matmul(q, k, transpose_b=True) * (self.head_dim**-0.5))
        out = tf.matmul(tf.nn.softmax(attn, axis=-1), v)
        out = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [-1, n, self.dim])
        return self.proj(out)

    # Ghost clipping (privacy/ghost_clipping.py) records this method rather than `call`: the
    # table's per-example gradients then come from the gradient at the biased logits, without
    # running the whole attention again for every example.
    ghost_recorded_method = "add_position_bias"

    def add_position_bias(self, logits):
        """(windows, heads, n, n) attention logits + each (query, key) offset's learned bias."""
        return logits + tf.gather(self.attention_biases, self.index, axis=1)

    def get_config(self):
        return {
            **super().get_config(),
            "dim": self.dim,
            "num_heads": self.num_heads,
            "window": self.window,
        }


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class TinyViTBlock(tf.keras.layers.Layer):
    """Window attention -> depthwise 3x3 local conv -> MLP, residual where the reference has it."""

    def __init__(
        self, dim, num_heads, window, mlp_ratio=4.0, drop_path=0.0, norm="frozen_bn", **kwargs
    ):
        super().__init__(**kwargs)
        self.dim, self.num_heads, self.window = dim, num_heads, window
        self.mlp_ratio, self.drop_path, self.norm = mlp_ratio, drop_path, norm
        self.attn = WindowAttention(dim, num_heads, window, name="attn")
        self.local_conv = ConvNorm(dim, 3, depthwise=True, norm=norm, name="local_conv")
        self.mlp_norm = tf.keras.layers.LayerNormalization(epsilon=_LN_EPS, name="mlp_norm")
        self.fc1 = tf.keras.layers.Dense(int(dim * mlp_ratio), name="fc1")
        self.fc2 = tf.keras.layers.Dense(dim, name="fc2")
        self.drop = DropPath(drop_path)

    def _windowed_attention(self, x):
        h, w = x.shape[1], x.shape[2]
        ws = self.window
        pad_h, pad_w = (-h) % ws, (-w) % ws  # pad bottom/right to whole windows
        if pad_h or pad_w:
            x = tf.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
        hp, wp = h + pad_h, w + pad_w
        nh, nw = hp // ws, wp // ws
        t = tf.reshape(x, [-1, nh, ws, nw, ws, self.dim])
        t = tf.reshape(tf.transpose(t, [0, 1, 3, 2, 4, 5]), [-1, ws * ws, self.dim])
        t = self.attn(t)
        t = tf.reshape(t, [-1, nh, nw, ws, ws, self.dim])
        t = tf.reshape(tf.transpose(t, [0, 1, 3, 2, 4, 5]), [-1, hp, wp, self.dim])
        return t[:, :h, :w, :]

    def call(self, x, training=None):
        x = x + self.drop(self._windowed_attention(x), training=training)
        x = self.local_conv(x, training=training)
        y = self.fc2(tf.nn.gelu(self.fc1(self.mlp_norm(x))))
        return x + self.drop(y, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "dim": self.dim,
            "num_heads": self.num_heads,
            "window": self.window,
            "mlp_ratio": self.mlp_ratio,
            "drop_path": self.drop_path,
            "norm": self.norm,
        }
