"""--init_from: a run starts from another run's whole pose model (backbone and head)."""

import os

import numpy as np
import pytest

from tfpose_dp.models.pose_model import build_pose_model
from tfpose_dp.runs import checkpoints
from tfpose_dp.runs import restore as restore_model
from tfpose_dp.runs.restore import IncompatibleModel, load_trained_model
from tfpose_dp.training import trainer

pytestmark = pytest.mark.slow  # end-to-end: trains or exports real models


@pytest.fixture(scope="module")
def public_run(tmp_path_factory, run_config):
    model_dir = tmp_path_factory.mktemp("public") / "run"
    final = trainer.run(  # another synthetic set than the private runs below (seed 0)
        run_config(
            model_dir,
            nonprivate=True,
            max_steps=2,
            learning_rate=0.01,
            optimizer="adam",
            synthetic_seed=7,
        )
    )
    return str(model_dir), final


def _wanted(norm="group", input_size=(64, 48)):
    from tfpose_dp.run_config import RunConfig

    return RunConfig.from_flat({"model": "tiny_vit_micro", "input_size": input_size, "norm": norm})


def test_weights_equal_the_source_run_head_included(public_run):
    source, _, _ = load_trained_model(public_run[0])
    target = build_pose_model("tiny_vit_micro", (64, 48), "group")
    restore_model.init_from_run(target, public_run[0], _wanted())
    names = [w.name for w in target.weights]
    assert any("simcc_head" in n for n in names)
    for a, b in zip(source.weights, target.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_model_of_another_norm_or_size_is_refused(public_run):
    target = build_pose_model("tiny_vit_micro", (64, 48), "frozen_bn")
    with pytest.raises(IncompatibleModel, match="--norm='group', this run has 'frozen_bn'"):
        restore_model.init_from_run(target, public_run[0], _wanted("frozen_bn"))
    with pytest.raises(IncompatibleModel, match="--input_size"):
        restore_model.init_from_run(target, public_run[0], _wanted(input_size=(96, 72)))


def test_private_fine_tuning_starts_from_the_public_model_and_says_so(
    public_run, run_config, tmp_path
):
    model_dir = tmp_path / "finetune"
    final = trainer.run(run_config(model_dir, init_from=public_run[0], norm="auto"))
    assert np.isfinite(final["start_pckh@0.5"])  # the public model on this run's val split
    assert np.isfinite(final["start_pckh@0.5_flip"]) and np.isfinite(final["pckh@0.5_flip"])
    assert "initialised from the model of" in final["privacy_statement"]
    state = checkpoints.read_state(checkpoints.latest_checkpoint(str(model_dir)))
    assert state["manifest"]["config"]["model"]["init_from"] == os.path.abspath(public_run[0])
    from tfpose_dp.export.provenance import privacy_record

    start = privacy_record(state)["initialised_from"]
    assert start["init_from"] == os.path.abspath(public_run[0])
    assert start["method"] == "nonprivate" and not start["dp_guarantee"]
    assert "synthetic" in start["data"]


def test_a_privately_trained_start_is_recorded_with_its_own_guarantee(run_config, tmp_path):
    source = tmp_path / "dp_source"
    first = trainer.run(run_config(source, max_steps=1, synthetic_seed=7))
    model_dir = tmp_path / "from_dp"
    trainer.run(run_config(model_dir, init_from=str(source), norm="auto"))
    from tfpose_dp.export.provenance import privacy_record

    state = checkpoints.read_state(checkpoints.latest_checkpoint(str(model_dir)))
    start = privacy_record(state)["initialised_from"]
    assert start["method"] == "dpsgd" and start["dp_guarantee"]
    assert start["epsilon"] == pytest.approx(first["epsilon"]) and start["delta"] == first["delta"]


def test_a_start_model_trained_on_this_runs_own_data_is_refused(run_config, tmp_path):
    own = tmp_path / "own"
    trainer.run(run_config(own, nonprivate=True, max_steps=1))  # the private set, seed 0
    model_dir = tmp_path / "leak"
    with pytest.raises(IncompatibleModel, match="own training data.*public data only"):
        trainer.run(run_config(model_dir, init_from=str(own), norm="auto"))
    assert not os.path.exists(model_dir / "private" / "dp_key")


def test_fine_tuning_with_an_explicit_other_norm_is_refused_before_writing(
    public_run, run_config, tmp_path
):
    model_dir = tmp_path / "bad"
    with pytest.raises(IncompatibleModel):
        trainer.run(run_config(model_dir, init_from=public_run[0], norm="frozen_bn"))
    assert not os.path.exists(model_dir / "private" / "dp_key")
