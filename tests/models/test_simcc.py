import numpy as np
import tensorflow as tf

from tfpose_dp.models.pose_model import build_pose_model, trainable_variables
from tfpose_dp.models.simcc import SimCCCodec, SimCCHead, simcc_per_example_loss


def test_encode_then_decode_recovers_keypoints_within_one_bin():
    codec = SimCCCodec((64, 48), split_ratio=2.0)
    rng = np.random.default_rng(0)
    kp = rng.uniform([0, 0], [47, 63], size=(5, 16, 2)).astype(np.float32)
    tx, ty, w = codec.encode(kp, np.ones((5, 16)))
    decoded, scores = codec.decode(tf.math.log(tx + 1e-12), tf.math.log(ty + 1e-12))
    assert np.max(np.abs(decoded.numpy() - kp)) <= 1.0 / codec.split_ratio
    assert np.all(w.numpy() == 1) and scores.shape == (5, 16)


def test_invisible_or_outside_joints_get_zero_weight():
    codec = SimCCCodec((64, 48))
    kp = np.array([[[10, 10], [-3, 10], [10, 70], [20, 20]]], np.float32)
    _, _, w = codec.encode(kp, np.array([[1, 1, 1, 0]]))
    np.testing.assert_array_equal(w.numpy(), [[1, 0, 0, 0]])


def test_loss_is_per_example_and_masked_by_weights():
    codec = SimCCCodec((32, 32))
    kp = np.full((3, 16, 2), 10.0, np.float32)
    tx, ty, w = codec.encode(kp, np.ones((3, 16)))
    logits_x = tf.random.normal((3, 16, 64))
    logits_y = tf.random.normal((3, 16, 64))
    loss = simcc_per_example_loss(tx, ty, w, logits_x, logits_y)
    assert loss.shape == (3,)
    assert np.all(loss.numpy() > 0)
    zero = simcc_per_example_loss(tx, ty, tf.zeros_like(w), logits_x, logits_y)
    np.testing.assert_array_equal(zero.numpy(), 0.0)
    # Perfect logits (log of the labels) give zero KL.
    perfect = simcc_per_example_loss(tx, ty, w, tf.math.log(tx + 1e-30), tf.math.log(ty + 1e-30))
    np.testing.assert_allclose(perfect.numpy(), 0.0, atol=1e-4)


def test_head_shapes_and_config_round_trip():
    head = SimCCHead(16, (64, 48), 2.0, maps_per_joint=2)
    out = head(tf.zeros((2, 2, 2, 8)))
    assert out["simcc_x"].shape == (2, 16, 96) and out["simcc_y"].shape == (2, 16, 128)
    assert SimCCHead.from_config(head.get_config()).get_config() == head.get_config()


def test_last_stage_policy_trains_last_stage_norms_and_head_only():
    model = build_pose_model("tiny_vit_micro", (64, 48))
    chosen = trainable_variables(model, "last_stage")
    names = [v.name for v in chosen]
    assert any("stages_3" in n for n in names) and any("simcc_head" in n for n in names)
    assert any("stages_1" in n and ("gamma" in n or "beta" in n) for n in names)
    assert not any("stages_1" in n and "kernel" in n for n in names)
    assert len(chosen) < len(trainable_variables(model, "all"))


def test_parameter_efficient_policies_nest_and_train_what_they_say():
    model = build_pose_model("tiny_vit_micro", (64, 48))
    count = {
        policy: sum(int(np.prod(v.shape)) for v in trainable_variables(model, policy))
        for policy in ("head", "norms_bias_head", "last_stage", "all")
    }
    assert 0 < count["head"] < count["norms_bias_head"] < count["all"]
    assert count["last_stage"] < count["all"]
    head = {v.name for v in trainable_variables(model, "head")}
    assert head and all("simcc_head" in n for n in head)
    bitfit = [v.name for v in trainable_variables(model, "norms_bias_head")]
    assert head <= set(bitfit)
    assert any("stages_1" in n and n.endswith("bias:0") for n in bitfit)  # a backbone bias
    assert any("stages_1" in n and "gamma" in n for n in bitfit)  # a norm scale
    assert not any("kernel" in n and "simcc_head" not in n for n in bitfit)
    assert not any("attention_biases" in n for n in bitfit)  # a table, not an additive bias


def test_pose_model_saves_and_loads(tmp_path):
    model = build_pose_model("tiny_vit_micro", (64, 48), norm="group", maps_per_joint=2)
    x = tf.random.normal((1, 64, 48, 3))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_allclose(loaded(x)["simcc_x"].numpy(), model(x)["simcc_x"].numpy(), atol=1e-5)
