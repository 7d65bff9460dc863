"""DP optimizers: subclasses of the classes TF Privacy's `DPKerasSGDOptimizer` and
`DPKerasAdamOptimizer` instantiate, with a fast exact private gradient.

TF Privacy's `DPKerasSGDOptimizer` is a factory function returning an instance of
`GenericDPSGDOptimizer` with a `GaussianSumQuery(l2_norm_clip, noise_multiplier *
l2_norm_clip)`; we subclass that class and keep the same query (same clip, same noise
std on the sum). What changes is how the private gradient is computed:

1. `accumulate(...)`: per-example gradients by `tf.vectorized_map` (not `tape.jacobian`),
   clipped and summed (`clipping.clipped_sum`), added to an accumulator. Call it once per
   physical chunk of the logical batch.
2. `private_gradients()`: the replicas' sums all-reduced (one replica: the sum itself),
   noise with std sigma*C added once to the global sum, divided by the *expected* batch
   size; optional post-processing (PDP projection); accumulator reset.
3. `apply_private_gradients(...)`: `apply_gradients` without a second cross-replica sum.

A Keras model compiled with these optimizers runs the same three in `fit`
(privacy/keras_fit.py). TF Privacy's own gradient methods (`_compute_gradients`,
`get_gradients`: the microbatch loop `minimize` would run) are refused, never run.

The classes are registered Keras-serializable with a complete `get_config`, so a model
compiled with them saves and loads. The noise key is secret: it is never part of the config
(a reloaded optimizer draws a new one from the OS) nor of checkpoints.
"""

import secrets

import tensorflow as tf
from tensorflow_privacy.privacy.dp_query import gaussian_query
from tensorflow_privacy.privacy.optimizers import dp_optimizer_keras

from tfpose_dp.privacy import clipping, gep, ghost_clipping, keras_fit, noise
from tfpose_dp.replica_sums import replica_local_zeros

_TFP_CONFIG_KEYS = (
    "global_state",
    "num_microbatches",
    "dp_sum_query",
    "gradient_accumulation_steps",
)
CLIPPING_MODES = ("vmap", "ghost")


class PrivateGradientMixin:
    """The one implementation of the private gradient shared by the SGD and Adam classes."""

    def __init__(
        self,
        l2_norm_clip,
        noise_multiplier,
        expected_batch_size,
        noise_key=None,
        clipping="vmap",
        **kwargs,
    ):
        """`noise_key`: DPKey.noise_key() of the run (secret); None draws one from the OS.
        `clipping`: how `fit` clips (privacy/keras_fit.py): "vmap" (per-example gradients
        under tf.vectorized_map) or "ghost" (ghost_clipping.py); both give the same sum."""
        if kwargs.get("num_microbatches") is not None:
            raise ValueError(
                f"num_microbatches={kwargs['num_microbatches']}: this optimizer clips each "
                "example (each image unit in the trainer), never microbatches; leave it unset"
            )
        if kwargs.get("gradient_accumulation_steps", 1) != 1:
            raise ValueError(
                "gradient_accumulation_steps: one private step is one Poisson batch here; give "
                "its expected size as expected_batch_size (the trainer splits it into chunks)"
            )
        for key in _TFP_CONFIG_KEYS:  # written by TF Privacy's get_config; rebuilt here
            kwargs.pop(key, None)
        if clipping not in CLIPPING_MODES:
            raise ValueError(f"clipping must be one of {CLIPPING_MODES}, got {clipping!r}")
        if not expected_batch_size > 0:
            raise ValueError(
                f"expected_batch_size={expected_batch_size} must be > 0: the expected number "
                "of examples per step (q N), by which the noisy sum is divided"
            )
        if not l2_norm_clip > 0:
            raise ValueError(f"--l2_norm_clip={l2_norm_clip} must be > 0")
        if not noise_multiplier > 0:
            raise ValueError(
                f"noise_multiplier={noise_multiplier} must be > 0: without noise there is "
                "no privacy guarantee (train with --nonprivate for a labelled baseline)"
            )
        stddev = l2_norm_clip * noise_multiplier
        query = gaussian_query.GaussianSumQuery(l2_norm_clip, stddev)
        super().__init__(dp_sum_query=query, num_microbatches=None, **kwargs)
        self.l2_norm_clip = float(l2_norm_clip)
        self.noise_multiplier = float(noise_multiplier)
        self.noise_stddev = float(stddev)
        self.expected_batch_size = float(expected_batch_size)
        self.clipping = clipping
        if noise_key is None:
            noise_key = [secrets.randbits(63), secrets.randbits(63)]
        self._noise_key = noise_key
        self._accumulators = None
        self.gradient_transform = None  # post-processing of the noisy gradient (e.g. PDP)
        # GEP (privacy/gep.py): a SubspaceProjection whose basis splits each per-example
        # gradient, and the residual's clip norm C2; None: plain DP-SGD clipping.
        self.embedding, self.residual_clip, self._coord_sum = None, None, None
        # fn(clean clipped sum, noise): a NON-PRIVATE diagnostic of the clean sum (off by default).
        self.clean_gradient_probe = None
        _ = self.iterations  # the noise step counter: created now, under the caller's strategy

    def _ensure_accumulators(self, var_list):
        # Replica-local sums (ON_READ): each replica adds its own examples' clipped gradients;
        # they are combined by an all-reduce in private_gradients. Zero between steps, and not
        # tracked (OptimizerV2 does not auto-track attributes), so not in checkpoints.
        if self._accumulators is None:
            with tf.init_scope():
                self._accumulators = replica_local_zeros(var_list, "dp_sum")
        return self._accumulators

    def use_gep(self, embedding, residual_clip):
        """Clip and noise per-example gradients GEP's way, in `embedding`'s basis."""
        self.embedding, self.residual_clip = embedding, float(residual_clip)
        with tf.init_scope():
            self._coord_sum = replica_local_zeros([tf.zeros([embedding.rows])], "gep_coords")[0]

    def accumulate(
        self, per_example_loss_fn, batch, mask, var_list, ghost=None, groups=None, gradients=None
    ):
        """Adds the clipped per-unit gradient sum of one chunk to the accumulator.

        `groups`: each example's group (the persons of one image, clipped together; see
        clipping.group_norms); None: each example alone. `ghost`: (batched_loss_fn, model) to
        clip the ghost_clipping.py way (same sum, norms layer by layer) for chunks of single
        persons; None or a chunk with a multi-person image: per-example gradients of the whole
        model (the exact reference: both compute the same function).
        `gradients`: batch -> (losses, per-example gradients of var_list), e.g. one compiled
        function shared with the PDP basis (clipping.compiled_per_example_gradients); None:
        computed here from `per_example_loss_fn`.
        Returns per-example (losses, unit gradient norms): private diagnostics, never release.
        """
        if gradients is None:

            def gradients(chunk):
                return clipping.per_example_gradients(per_example_loss_fn, chunk, var_list)

        if ghost is not None and self.embedding is None:
            losses, sums, norms = self._ghost_or_exact(
                gradients, batch, mask, var_list, ghost, groups
            )
            self._add_to_accumulators(var_list, sums)
            return losses, norms
        losses, grads = gradients(batch)
        if self.embedding is None:
            sums, norms = clipping.clipped_sum(grads, self.l2_norm_clip, mask, groups)
        else:
            if groups is not None:  # GEP splits whole unit gradients
                grads, mask = clipping.sum_by_group(grads, mask, groups)
            norms = clipping.global_norms(grads)
            coords, sums = gep.split_clip_sum(
                grads, self.embedding.blocks, self.l2_norm_clip, self.residual_clip, mask
            )
            self._coord_sum.assign_add(coords)
        self._add_to_accumulators(var_list, sums)
        return losses, norms

    def _ghost_or_exact(self, gradients, batch, mask, var_list, ghost, groups):
        batched_loss_fn, model = ghost

        def exact():  # multi-person images, or a chunk with a non-finite norm
            losses, grads = gradients(batch)
            return (losses, *clipping.clipped_sum(grads, self.l2_norm_clip, mask, groups))

        def by_ghost():
            return ghost_clipping.clipped_sum(
                batched_loss_fn,
                model,
                batch,
                mask,
                var_list,
                self.l2_norm_clip,
                lambda: exact()[1:],
            )

        if groups is None:
            return by_ghost()
        return tf.cond(clipping.all_singletons(groups), by_ghost, exact)

    def _add_to_accumulators(self, var_list, sums):
        for acc, s in zip(self._ensure_accumulators(var_list), sums):
            acc.assign_add(s)

    def private_gradients(self, var_list):
        """Noisy mean gradient of the accumulated logical batch; resets the accumulator.

        Runs in replica context: the clipped sums of all replicas are all-reduced into the
        global sum, and every replica adds the same noise draw (a function of the seed and the
        step) to it, so the update is the one a single device would make. Apply the result with
        `apply_private_gradients` (no second aggregation).
        """
        self._was_dp_gradients_called = True
        accumulators = self._ensure_accumulators(var_list)
        context = tf.distribute.get_replica_context()
        sums = context.all_reduce(
            tf.distribute.ReduceOp.SUM, [tf.identity(a) for a in accumulators]
        )
        key = noise.step_key(self._noise_key, self.iterations)
        if self.embedding is not None:
            return self._gep_gradients(context, sums, key, accumulators)
        draw = noise.gaussian_noise(sums, self.noise_stddev, key)
        if self.clean_gradient_probe is not None:  # sees private data without DP: diagnostics only
            self.clean_gradient_probe(sums, draw)
        grads = noise.normalise([s + z for s, z in zip(sums, draw)], self.expected_batch_size)
        if self.gradient_transform is not None:
            grads = self.gradient_transform(grads)
        with tf.control_dependencies(grads):
            for acc in accumulators:
                acc.assign(tf.zeros_like(acc))
        return grads

    def _gep_gradients(self, context, residual_sums, key, accumulators):
        """V (W + noise) + (R + noise), each part's noise std sqrt(2) sigma C_part (gep.py)."""
        coords = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.identity(self._coord_sum))
        factor = gep.NOISE_FACTOR * self.noise_multiplier
        residual = noise.add_noise(residual_sums, factor * self.residual_clip, key)
        coord_key = tf.random.experimental.stateless_fold_in(key, 0x6E9)
        coords = noise.add_noise([coords], factor * self.l2_norm_clip, coord_key)[0]
        grads = [r + e for r, e in zip(residual, self.embedding.expand(coords))]
        grads = noise.normalise(grads, self.expected_batch_size)
        with tf.control_dependencies(grads):
            self._coord_sum.assign(tf.zeros_like(self._coord_sum))
            for acc in accumulators:
                acc.assign(tf.zeros_like(acc))
        return grads

    def keras_train_step(self, model, data):
        """The step `model.fit` runs for a model compiled with this optimizer."""
        return keras_fit.private_train_step(model, self, data)

    def _compute_gradients(self, loss, var_list, grad_loss=None, tape=None):
        raise TypeError(
            f"{type(self).__name__} computes private gradients in its own step, not from a "
            "loss and a tape (that would be TF Privacy's microbatch loop, another mechanism): "
            "compile a Keras model with it and call model.fit (a model whose class overrides "
            "train_step cannot use it), or call accumulate / private_gradients / "
            "apply_private_gradients yourself"
        )

    def get_gradients(self, loss, params):
        return self._compute_gradients(loss, params)

    def apply_private_gradients(self, grads, var_list):
        """Applies gradients that are already global (all-reduced): no second aggregation."""
        return self.apply_gradients(zip(grads, var_list), experimental_aggregate_gradients=False)

    def get_config(self):
        config = super().get_config()
        for key in _TFP_CONFIG_KEYS:
            config.pop(key, None)
        config.update(
            l2_norm_clip=self.l2_norm_clip,
            noise_multiplier=self.noise_multiplier,
            expected_batch_size=self.expected_batch_size,
            clipping=self.clipping,
        )
        return config


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class PoseDPSGD(PrivateGradientMixin, dp_optimizer_keras.GenericDPSGDOptimizer):
    """DP-SGD: the class behind TF Privacy's `DPKerasSGDOptimizer`, fast private gradient."""


@tf.keras.utils.register_keras_serializable("tfpose_dp")
class PoseDPAdam(PrivateGradientMixin, dp_optimizer_keras.GenericDPAdamOptimizer):
    """DP-Adam: the class behind TF Privacy's `DPKerasAdamOptimizer`, same private gradient."""


keras_fit.install_train_step()
OPTIMIZERS = {"sgd": PoseDPSGD, "adam": PoseDPAdam}


def make_dp_optimizer(
    name, learning_rate, l2_norm_clip, noise_multiplier, expected_batch_size, noise_key=None
):
    if name not in OPTIMIZERS:
        raise ValueError(f"--optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    kwargs = {"momentum": 0.9} if name == "sgd" else {}
    return OPTIMIZERS[name](
        l2_norm_clip=l2_norm_clip,
        noise_multiplier=noise_multiplier,
        expected_batch_size=expected_batch_size,
        noise_key=noise_key,
        learning_rate=learning_rate,
        **kwargs,
    )
