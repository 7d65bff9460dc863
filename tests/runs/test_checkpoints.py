import os

import tensorflow as tf

from tfpose_dp.runs import checkpoints as checkpointing


def test_save_restore_and_latest_pointer(tmp_path):
    v = tf.Variable([1.0, 2.0])
    gen = tf.random.Generator.from_seed(3)
    checkpointing.save(str(tmp_path), {"v": v, "rng": gen}, {"step": 5, "ledger": "x"})
    expected_next = gen.normal([3]).numpy()
    v.assign([0.0, 0.0])
    gen2 = tf.random.Generator.from_seed(99)
    ckpt = checkpointing.latest_checkpoint(str(tmp_path))
    state = checkpointing.restore(ckpt, {"v": v, "rng": gen2})
    assert state["step"] == 5 and v.numpy().tolist() == [1.0, 2.0]
    assert gen2.normal([3]).numpy().tolist() == expected_next.tolist()


def test_old_checkpoints_are_pruned_and_no_temporaries_remain(tmp_path):
    v = tf.Variable(1.0)
    for step in range(1, 6):
        checkpointing.save(str(tmp_path), {"v": v}, {"step": step}, keep=2)
    root = checkpointing.checkpoint_root(str(tmp_path))
    names = sorted(os.listdir(root))
    assert names == ["ckpt-00000004", "ckpt-00000005", "latest"]
    assert checkpointing.latest_checkpoint(str(tmp_path)).endswith("ckpt-00000005")


def test_latest_checkpoint_of_an_empty_dir_is_none(tmp_path):
    assert checkpointing.latest_checkpoint(str(tmp_path)) is None
