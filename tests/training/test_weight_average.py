import numpy as np
import tensorflow as tf

from tfpose_dp.training.weight_average import WeightAverage


def test_average_tracks_weights_with_warmup_and_swaps_back():
    v = tf.Variable([0.0, 0.0])
    step = tf.Variable(0, dtype=tf.int64)
    avg = WeightAverage([v], decay=0.9, step=step)
    for t in range(1, 51):
        v.assign([float(t), 1.0])
        step.assign(t)
        avg.update()
    shadow = avg.shadows[0].numpy()
    assert 40.0 < shadow[0] < 50.0  # lags the latest value (50) by ~1/(1-decay) steps
    np.testing.assert_allclose(shadow[1], 1.0, atol=1e-6)
    with avg.swapped():
        np.testing.assert_allclose(v.numpy(), shadow)
    np.testing.assert_allclose(v.numpy(), [50.0, 1.0])


def test_early_decay_warms_up():
    v = tf.Variable(0.0)
    step = tf.Variable(0, dtype=tf.int64)
    avg = WeightAverage([v], decay=0.999, step=step)
    v.assign(10.0)
    avg.update()  # decay (1 + 0) / (10 + 0) = 0.1
    np.testing.assert_allclose(avg.shadows[0].numpy(), 9.0, rtol=1e-6)
