"""The public data used in full (#27): the public stage (--public_finetune_steps) and the clean
public gradient of --public_mix read the public set only. Two data sets that agree on their
public persons and differ in every private person's labels give the same stage and the same
clean gradient, while their private gradients differ."""

import json
import os
import signal

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.config_validation import validate
from tfpose_dp.data.annotations import load_split
from tfpose_dp.public_data_config import public_weight
from tfpose_dp.run_config import ConfigError
from tfpose_dp.runs import checkpoints
from tfpose_dp.training import datasets, loop, trainer
from tfpose_dp.training.public_stage import mix_inputs, run_public_stage
from tfpose_dp.training.setup import build_run

FRACTION, M, SEED = 0.25, 10, 0


def _write_copy(source, target, records, public_ids, shift):
    """`source`'s data as a --data_dir whose private persons' joints move by `shift` px."""
    os.makedirs(os.path.join(target, "annotations"), exist_ok=True)
    with open(os.path.join(source, "annotations", "train.json")) as f:
        people = json.load(f)
    for person, identity in zip(people, records.ids):
        if tuple(identity) not in public_ids:
            person["joints"] = [[x + shift, y + shift] for x, y in person["joints"]]
    with open(os.path.join(target, "annotations", "train.json"), "w") as f:
        json.dump(people, f)
    with open(os.path.join(source, "annotations", "valid.json")) as f:
        valid = json.load(f)
    with open(os.path.join(target, "annotations", "valid.json"), "w") as f:
        json.dump(valid, f)
    os.symlink(os.path.join(source, "images"), os.path.join(target, "images"))
    return target


@pytest.fixture(scope="module")
def data_dirs(synthetic_dir, tmp_path_factory):
    records = load_split(synthetic_dir, "train")
    _, public = datasets.split_public(records, "holdout", M, SEED, holdout_fraction=FRACTION)
    public_ids = {tuple(i) for i in public.ids}
    root = tmp_path_factory.mktemp("neighbours")
    return [
        _write_copy(synthetic_dir, str(root / name), records, public_ids, shift)
        for name, shift in (("a", 0.0), ("b", 9.0))
    ]


def _config(run_config, model_dir, data_dir, **overrides):
    settings = dict(
        data_dir=data_dir,
        public_examples=M,
        public_fraction=FRACTION,
        public_batch_size=4,
        physical_batch_size=8,
        public_finetune_steps=2,
        public_mix="constant:0.5",
        reproducible_noise=True,
        seed=SEED,
    )
    settings.update(overrides)
    return run_config(model_dir, **settings)


def _weights(run):
    return [v.numpy().copy() for v in run.variables]


def test_the_public_stage_and_the_mix_read_public_records_only(data_dirs, run_config, tmp_path):
    stage, clean, private_loss = [], [], []
    for i, data_dir in enumerate(data_dirs):
        run = build_run(_config(run_config, tmp_path / f"run{i}", data_dir))
        assert not set(run.public.image_names()) & set(run.train.image_names())
        start = _weights(run)
        run_public_stage(run)
        stage.append(_weights(run))
        assert any(not np.array_equal(a, b) for a, b in zip(start, stage[-1]))  # it trained
        mix = mix_inputs(run)
        loop._mix_public(run, mix)
        grads = run.strategy.run(run.steps.public_mix.take_mean)
        clean.append(np.concatenate([g.numpy().ravel() for g in grads]))
        private_loss.append(float(run.steps.accumulate(next(loop._inputs(run)))[0]))
    for a, b in zip(*stage):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(clean[0], clean[1])
    assert np.linalg.norm(clean[0]) > 0
    assert private_loss[0] != pytest.approx(private_loss[1])  # the private data do differ


def test_the_mix_weight_schedule():
    assert public_weight("none", 5, 10) == 0.0
    assert public_weight("constant:0.3", 7, 10) == 0.3
    cosine = [public_weight("cosine", t, 10) for t in range(10)]
    assert cosine[0] == 0.0  # alpha_0 = 1: the first update is the private one alone
    assert cosine[5] == pytest.approx(1 - np.cos(np.pi / 4))
    assert all(a < b for a, b in zip(cosine, cosine[1:]))


@pytest.mark.parametrize("mix", ["constant", "constant:1", "constant:x", "linear"])
def test_a_malformed_mix_is_refused(run_config, tmp_path, mix):
    with pytest.raises(ConfigError, match="--public_mix"):
        validate(run_config(tmp_path, public_mix=mix))


def test_a_public_batch_larger_than_the_public_set_is_refused(data_dirs, run_config, tmp_path):
    config = _config(run_config, tmp_path, data_dirs[0], public_batch_size=M + 1)
    with pytest.raises(ConfigError, match="--public_batch_size=11 exceeds the 10 public"):
        build_run(config)


@pytest.mark.slow
def test_a_run_reports_the_stage_and_a_resume_does_not_repeat_it(
    data_dirs, run_config, tmp_path, monkeypatch
):
    config = _config(run_config, tmp_path, data_dirs[0], reproducible_noise=False, max_steps=1)
    final = trainer.run(config)
    assert final["public_stage_pckh@0.5"] is not None
    assert 0 <= final["public_stage_pckh@0.5_flip"] <= 100  # and its flip-tested twin
    assert "public stage of 2 non-private steps" in final["privacy_statement"]
    assert "--public_mix=constant:0.5" in final["privacy_statement"]
    state = checkpoints.read_state(checkpoints.latest_checkpoint(str(tmp_path)))
    assert state["public_stage_metrics"]["val/pckh@0.5"] == final["public_stage_pckh@0.5"]

    def again(run):
        raise AssertionError("the public stage ran again on resume")

    monkeypatch.setattr(trainer, "run_public_stage", again)
    resumed = trainer.run(config.replace(max_steps=2))
    assert resumed["steps"] == 2
    assert resumed["public_stage_pckh@0.5"] == final["public_stage_pckh@0.5"]
    assert tf.io.gfile.exists(os.path.join(str(tmp_path), "final_metrics.json"))


def test_a_signal_during_the_public_stage_stops_it_between_two_of_its_steps(
    data_dirs, run_config, tmp_path
):
    """Ctrl-C / SIGTERM in the (non-private, minutes-long) stage ends it at once, before any
    private step; the next start runs the stage again."""
    from tfpose_dp.training.stop_request import Interrupted, StopRequest

    stop = StopRequest()
    stop.signum = signal.SIGTERM  # as the handler leaves it
    config = _config(run_config, tmp_path, data_dirs[0], max_steps=1)
    with pytest.raises(Interrupted, match="in the public stage at its step 0"):
        trainer.run(config, stop)
    assert checkpoints.latest_checkpoint(str(tmp_path)) is None  # no private step was taken
