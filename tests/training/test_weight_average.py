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


def test_evaluate_and_export_load_the_runs_weight_average(tmp_path):
    from tfpose_dp.models.pose_model import build_pose_model, trainable_variables
    from tfpose_dp.run_config import RunConfig
    from tfpose_dp.runs import checkpoints
    from tfpose_dp.runs.manifest import Manifest
    from tfpose_dp.runs.restore import load_trained_model

    model = build_pose_model("tiny_vit_micro", (64, 48), "group")
    variables = trainable_variables(model, "last_stage")
    shadows = [tf.Variable(v + 1.0) for v in variables]
    config = RunConfig.from_flat(
        {
            "model": "tiny_vit_micro",
            "input_size": (64, 48),
            "norm": "group",
            "trainable": "last_stage",
            "ema_decay": 0.99,
        }
    )
    manifest = Manifest(config, 10, "test").to_json()
    checkpoints.save(
        str(tmp_path),
        {"model": model, "weight_average": shadows},
        {"step": 1, "manifest": manifest},
    )
    averaged, _, _ = load_trained_model(str(tmp_path))
    raw, _, _ = load_trained_model(str(tmp_path), use_average=False)
    for a, r, s, v in zip(
        trainable_variables(averaged, "last_stage"),
        trainable_variables(raw, "last_stage"),
        shadows,
        variables,
    ):
        np.testing.assert_array_equal(a.numpy(), s.numpy())
        np.testing.assert_array_equal(r.numpy(), v.numpy())
