"""The privacy unit is one image: its persons' gradients are summed, then clipped together."""

import numpy as np
import tensorflow as tf

from tfpose_dp.privacy import clipping
from tfpose_dp.privacy.optimizer import make_dp_optimizer

# Slots of one slice: an image of 3 persons at 0, one of 1 at 3, one of 2 at 4, one padding.
GROUPS = tf.constant([0, 0, 0, 3, 4, 4, -1])
MASK = tf.constant([1.0, 1, 1, 1, 1, 1, 0])


def _grads(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [
        tf.constant(scale * rng.normal(size=(7, 3, 2)), tf.float32),
        tf.constant(scale * rng.normal(size=(7, 5)), tf.float32),
    ]


def _flat(grads):
    return np.concatenate([g.numpy().reshape(len(g.numpy()), -1) for g in grads], 1)


def test_an_images_summed_gradient_is_clipped_as_one():
    grads, clip = _grads(scale=2.0), 3.0
    sums, norms = clipping.clipped_sum(grads, clip, MASK, GROUPS)
    flat = _flat(grads)
    expected = np.zeros(flat.shape[1])
    for members in ([0, 1, 2], [3], [4, 5]):
        image = flat[members].sum(0)
        expected += image * min(1.0, clip / np.linalg.norm(image))
        np.testing.assert_allclose(norms.numpy()[members], np.linalg.norm(image), rtol=1e-5)
    np.testing.assert_allclose(_flat([s[None] for s in sums])[0], expected, rtol=1e-5, atol=1e-5)


def test_removing_one_image_moves_the_sum_by_at_most_the_clip_norm():
    grads, clip = _grads(seed=1, scale=50.0), 1.0
    grads = [tf.concat([g[:1], g[:1], g[:1], g[3:]], 0) for g in grads]  # 3 alike persons
    full, _ = clipping.clipped_sum(grads, clip, MASK, GROUPS)
    without = tf.constant([0.0, 0, 0, 1, 1, 1, 0])  # the 3-person image removed
    rest, _ = clipping.clipped_sum(grads, clip, without, GROUPS)
    moved = np.linalg.norm(_flat([a[None] - b[None] for a, b in zip(full, rest)]))
    assert moved <= clip * (1 + 1e-5)
    # Clipping persons one by one would have let this image move the sum by up to 3 C.
    per_person, _ = clipping.clipped_sum(grads, clip, MASK)
    per_person_rest, _ = clipping.clipped_sum(grads, clip, without)
    diff = [a[None] - b[None] for a, b in zip(per_person, per_person_rest)]
    assert np.linalg.norm(_flat(diff)) > 2.9 * clip


def test_one_person_per_image_is_todays_per_example_clipping():
    grads = _grads(seed=2, scale=2.0)
    singletons = tf.constant([0, 1, 2, 3, 4, 5, -1])
    a, na = clipping.clipped_sum(grads, 2.5, MASK, singletons)
    b, nb = clipping.clipped_sum(grads, 2.5, MASK)
    np.testing.assert_allclose(na.numpy()[:6], nb.numpy()[:6], rtol=1e-6)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6, atol=1e-6)
    assert bool(clipping.all_singletons(singletons)) and not bool(clipping.all_singletons(GROUPS))


def test_a_non_finite_person_drops_its_whole_image_and_nothing_else():
    grads = _grads(seed=3)
    poisoned = [g.numpy() for g in grads]
    poisoned[0][1] = np.nan
    grads = [tf.constant(g) for g in poisoned]
    sums, _ = clipping.clipped_sum(grads, 100.0, MASK, GROUPS)
    flat = _flat(grads)
    expected = flat[[3, 4, 5]].sum(0)
    np.testing.assert_allclose(_flat([s[None] for s in sums])[0], expected, rtol=1e-5, atol=1e-5)


def _model():
    inputs = tf.keras.Input([4])
    hidden = tf.keras.layers.Dense(6, activation="tanh")(inputs)
    return tf.keras.Model(inputs, {"out": tf.keras.layers.Dense(3)(hidden)})


def test_ghost_clipping_takes_the_exact_grouped_path_for_a_multi_person_chunk():
    model = _model()
    batch = {
        "image": tf.random.stateless_normal([7, 4], seed=[3, 4]),
        "target": tf.random.stateless_normal([7, 3], seed=[5, 6]),
    }

    def batched(outputs, inputs):
        return 0.5 * tf.reduce_sum(tf.square(outputs["out"] - inputs["target"]), 1)

    def one(example):
        example = tf.nest.map_structure(lambda t: t[None], example)
        return batched(model(example["image"]), example)[0]

    variables = model.trainable_variables
    results = {}
    for mode, ghost in (("ghost", (batched, model)), ("exact", None)):
        opt = make_dp_optimizer("sgd", 0.1, 0.05, 1.0, 4, noise_key=[1, 2])
        opt._ensure_accumulators(variables)
        for groups in (GROUPS, tf.constant([0, 1, 2, 3, 4, 5, -1])):
            _, norms = opt.accumulate(one, batch, MASK, variables, ghost, groups)
            results[mode, groups.numpy()[1]] = norms.numpy()
        results[mode] = [a.numpy() for a in opt._accumulators]
    for key in (0, 1):
        real = MASK.numpy() > 0  # a padding slot's norm is whatever its path computes
        np.testing.assert_allclose(
            results["ghost", key][real], results["exact", key][real], rtol=1e-4
        )
    for g, e in zip(results["ghost"], results["exact"]):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-6)
