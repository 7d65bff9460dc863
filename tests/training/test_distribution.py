"""Distributed DP training: same step as one device, noise added once, global sampling."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.data.pipeline import training_dataset
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.privacy.optimizer import make_dp_optimizer
from tfpose_dp.privacy.projection import SubspaceProjection
from tfpose_dp.privacy.sampling import PoissonSampler
from tfpose_dp.training.distribution import DistributionError, make_strategy, replica_slice_size
from tfpose_dp.training.steps import NonPrivateSteps, PrivateSteps

SIZE = (64, 48)


def _mirrored():
    if len(tf.config.list_logical_devices("CPU")) < 2:
        pytest.skip("needs 2 logical CPU devices (set up in tests/conftest.py)")
    return make_strategy("mirrored", cpu_replicas=2)


def _chunk(records_dir, physical, slice_size, replica_ids, step=0, seed=0):
    from tfpose_dp.data.annotations import load_split

    records = load_split(records_dir, "train")
    replicas = physical // slice_size
    sampler = PoissonSampler(len(records), 6, physical, entropy=seed, replicas=replicas)
    ds = training_dataset(
        records, sampler, SIZE, SimCCCodec(SIZE), step, None, seed, slice_size, replica_ids
    )
    return ds, sampler


def _small_pose_model():
    """A few-parameter stand-in with the pose model's outputs (TinyViT traces take minutes)."""
    codec = SimCCCodec(SIZE)
    image = tf.keras.Input([*SIZE, 3])
    x = tf.keras.layers.Conv2D(4, 3, strides=4, activation="relu")(image)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    sx = tf.keras.layers.Reshape([16, codec.bins_x])(tf.keras.layers.Dense(16 * codec.bins_x)(x))
    sy = tf.keras.layers.Reshape([16, codec.bins_y])(tf.keras.layers.Dense(16 * codec.bins_y)(x))
    return tf.keras.Model(image, {"simcc_x": sx, "simcc_y": sy})


def _train_one_step(
    strategy, synthetic_dir, sigma, private=True, weights=None, pdp=False, clipping="vmap"
):
    with strategy.scope():
        model = _small_pose_model()
        if weights is not None:
            model.set_weights(weights)
        variables = model.trainable_variables
        if private:
            # A random 5-d subspace keeps little of the gradient: a larger step keeps it measurable.
            opt = make_dp_optimizer(
                "sgd",
                5.0 if pdp else 0.05,
                l2_norm_clip=0.5,
                noise_multiplier=sigma,
                expected_batch_size=6,
                noise_key=3,
            )
            if pdp:
                p = int(sum(np.prod(v.shape) for v in variables))
                projection = SubspaceProjection([v.shape for v in variables], 5)
                basis, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(p, 5)))
                projection.set_basis(tf.constant(basis, tf.float32))
                opt.gradient_transform = projection
            steps = PrivateSteps(model, opt, variables, strategy=strategy, clipping=clipping)
        else:
            steps = NonPrivateSteps(
                model, tf.keras.optimizers.legacy.SGD(0.05), variables, strategy=strategy
            )
    replicas = strategy.num_replicas_in_sync
    ds, sampler = _chunk(synthetic_dir, 8, 8 // replicas, tuple(range(replicas)))
    it = iter(
        strategy.distribute_datasets_from_function(lambda context: ds)
    )  # as the trainer feeds it
    totals = np.zeros(3)
    for _ in range(len(sampler.chunks(0))):
        totals += [float(v) for v in steps.accumulate(next(it))]
    steps.apply()
    return model, totals


@pytest.mark.parametrize(
    "private,pdp,clipping",
    [(True, False, "vmap"), (True, True, "vmap"), (False, False, "vmap"), (True, False, "ghost")],
)
def test_mirrored_step_equals_single_device_step_with_negligible_noise(
    synthetic_dir, private, pdp, clipping
):
    """Ghost clipping on two replicas against the exact path on one device."""
    mirrored = _mirrored()
    weights = _small_pose_model().get_weights()
    sigma = 1e-9  # noise std 5e-10: far below the tolerance (zero noise is refused)
    single, t1 = _train_one_step(
        tf.distribute.get_strategy(), synthetic_dir, sigma, private, weights, pdp
    )
    double, t2 = _train_one_step(mirrored, synthetic_dir, sigma, private, weights, pdp, clipping)
    np.testing.assert_allclose(t1, t2, rtol=1e-5)  # same examples, same losses
    assert t1[2] > 0
    moved = 0.0
    for a, b, w in zip(single.get_weights(), double.get_weights(), weights):
        np.testing.assert_allclose(a, b, atol=1e-5)
        moved = max(moved, float(np.abs(a - w).max()))
    assert moved > 1e-4  # the step did change the weights


@pytest.mark.parametrize("replicas", [1, 2])
def test_noise_on_the_global_sum_has_variance_sigma_squared_c_squared(replicas):
    strategy = _mirrored() if replicas == 2 else tf.distribute.get_strategy()
    sigma, clip, n = 1.5, 0.4, 20_000
    with strategy.scope():
        w = tf.Variable(tf.zeros([n]))
        opt = make_dp_optimizer(
            "sgd",
            1.0,
            l2_norm_clip=clip,
            noise_multiplier=sigma,
            expected_batch_size=1,
            noise_key=7,
        )
        steps = PrivateSteps(None, opt, [w], strategy=strategy)
    steps.apply()  # no example drawn: the update is the noise alone (SGD, lr 1, first step)
    noise = -w.numpy()
    se = sigma * clip * np.sqrt(2.0 / (n - 1))
    assert abs(noise.std() - sigma * clip) < 3 * se
    if replicas == 2:  # both replicas applied the identical update
        copies = [c.numpy() for c in strategy.experimental_local_results(w)]
        np.testing.assert_array_equal(copies[0], copies[1])


def test_each_drawn_example_goes_to_exactly_one_replica(synthetic_dir):
    ds_all, sampler = _chunk(synthetic_dir, 8, 8, (0,))
    drawn = sampler.chunks(0)
    slices = [list(_chunk(synthetic_dir, 8, 4, (r,))[0].take(len(drawn))) for r in (0, 1)]
    seen = []
    for c in range(len(drawn)):
        for r in (0, 1):
            seen.extend(int(i) for i in slices[r][c]["index"].numpy() if i >= 0)
    assert sorted(seen) == sorted(int(i) for i in drawn.ravel() if i >= 0)
    assert len(seen) == len(set(seen))


def test_chunk_that_does_not_split_evenly_is_a_clear_error():
    with pytest.raises(DistributionError, match="multiple of the 3 replicas"):
        replica_slice_size(8, 3)


def test_a_pdp_refresh_on_mirrored_blocks_writes_every_replica_the_reference_basis():
    """The refresh's in-place row writes are compiled for one device: a mirrored block is
    written copy by copy."""
    from tfpose_dp.privacy.eigenbasis import top_eigenbasis

    mirrored = _mirrored()
    g = np.random.default_rng(0).normal(size=(9, 60)).astype(np.float32)
    with mirrored.scope():
        projection = SubspaceProjection([[25], [35]], 5, 9)

    def chunks():
        for start in range(0, 9, 4):
            rows = g[start : start + 4]
            yield [tf.constant(rows[:, :25]), tf.constant(rows[:, 25:])], tf.ones([len(rows)])

    r, _ = projection.refresh(chunks())
    expected = top_eigenbasis(g, 5).numpy()
    for block in projection.blocks:
        copies = [c.numpy() for c in block.values]
        assert len(copies) == 2
        np.testing.assert_array_equal(copies[0], copies[1])
    v = projection.basis_matrix().numpy()[:, :r]
    np.testing.assert_allclose(v @ v.T, expected @ expected.T, atol=1e-5)
