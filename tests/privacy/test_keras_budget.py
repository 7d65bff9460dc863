"""Poisson batches, the plan and the epsilon callback of the Keras API."""

import glob
import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp import privacy

NONE = tf.keras.losses.Reduction.NONE


def _rows(batches):
    return [sorted(int(v) for v in x.numpy()) for x, _ in batches]


def test_poisson_batches_sample_each_example_with_probability_q():
    n, b = 400, 20
    x = np.arange(n, dtype="float32")
    ds = privacy.poisson_batches((x, x), expected_batch_size=b)
    assert int(ds.cardinality()) == n // b
    sizes, seen = [], np.zeros(n)
    for _ in range(10):  # ten epochs, 200 draws
        for xb, yb in ds:
            np.testing.assert_array_equal(xb.numpy(), yb.numpy())  # rows stay paired
            sizes.append(len(xb))
            seen[xb.numpy().astype(int)] += 1
    assert abs(np.mean(sizes) - b) < 3 * np.sqrt(b / len(sizes)) + 0.5
    assert np.std(sizes) > 1  # a random size, not fixed batches
    # each example taken ~ Binomial(200, q = 0.05) times: mean 10
    assert abs(seen.mean() - 10) < 0.5 and 0 < seen.min() and seen.max() < 30


def test_each_epoch_and_each_seeded_run_draws_new_batches():
    x = np.arange(200, dtype="float32")
    draws = []
    for _ in range(2):
        tf.keras.utils.set_random_seed(0)  # a public seed must not fix membership
        ds = privacy.poisson_batches((x, x), expected_batch_size=10)
        draws += [_rows(ds), _rows(ds)]
    assert all(draws[i] != draws[j] for i in range(4) for j in range(i))


def test_poisson_batches_take_a_dataset_of_examples_and_refuse_an_infinite_one():
    ds = tf.data.Dataset.from_tensor_slices((np.arange(50.0), np.arange(50.0)))
    for xb, yb in privacy.poisson_batches(ds, 5):
        np.testing.assert_array_equal(xb.numpy(), yb.numpy())
    with pytest.raises(ValueError, match="finite"):
        privacy.poisson_batches(ds.repeat(), 5)


def test_plan_calibrates_sigma_for_the_target_and_states_it():
    p = privacy.plan(num_examples=2000, batch_size=50, epochs=2, epsilon=1.0)
    assert p.steps == 80 and p.sampling_rate == 0.025 and p.delta == pytest.approx(5e-5)
    assert 0.98 <= p.epsilon <= 1.0 and p.epsilon_rdp >= p.epsilon
    assert f"({p.epsilon:.4f}, 5e-05)-DP" in p.statement and "Poisson" in p.statement
    with pytest.raises(ValueError, match="1/N"):
        privacy.plan(num_examples=2000, batch_size=50, epochs=2, epsilon=1.0, delta=0.01)


def test_callback_epsilon_equals_the_calculator_app_and_reaches_tensorboard(tmp_path):
    n, b, epochs, sigma = 64, 8, 2, 1.3
    x = np.random.default_rng(0).normal(size=(n, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    model.compile(
        optimizer=privacy.PoseDPSGD(
            l2_norm_clip=1.0, noise_multiplier=sigma, expected_batch_size=b, learning_rate=0.1
        ),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=NONE),
    )
    callback = privacy.PrivacyCallback(n, b, sigma, log_dir=str(tmp_path))
    history = model.fit(
        privacy.poisson_batches((x, y), b), epochs=epochs, callbacks=[callback], verbose=0
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfpose_dp.privacy",
            f"--num_examples={n}",
            f"--batch_size={b}",
            f"--epochs={epochs}",
            f"--noise_multiplier={sigma}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    app = json.loads(out.stdout.strip().splitlines()[-1])
    assert app["steps"] == int(model.optimizer.iterations) == 16
    assert abs(history.history["epsilon"][-1] - app["epsilon_pld"]) < 1e-6
    assert history.history["epsilon"][0] < history.history["epsilon"][1]
    events = glob.glob(str(tmp_path / "privacy" / "events.out.tfevents.*"))
    tags = {v.tag for e in tf.compat.v1.train.summary_iterator(events[0]) for v in e.summary.value}
    assert "privacy/epsilon" in tags
