"""The main command's defaults (tfpose_dp/default_start.py): a run that keeps the default model
settings starts from the shipped public model of that architecture and input size, with the
public stage; any other run starts where it says."""

import pytest

from tfpose_dp import presets
from tfpose_dp.default_start import (
    AUTO_MIX,
    AUTO_STAGE_STEPS,
    DEFAULT_PRESET,
    DEFAULT_RATE,
    PROJECTED_RATE,
    resolve_start,
)
from tfpose_dp.run_config import RunConfig
from tfpose_dp.runs.restore import read_manifest


def _config(**flat):
    return RunConfig.from_flat({"epsilon": 0.2, "projection": "pdp", "model_dir": "/x", **flat})


def test_the_main_command_starts_from_the_public_5m_model_with_the_public_stage():
    config, notes = resolve_start(_config())
    assert config.model.init_from == DEFAULT_PRESET
    assert config.pdp.public_finetune_steps == AUTO_STAGE_STEPS == 250
    assert "public_5m" in notes[0] and "250" in notes[1]
    # the private phase tuned for it: the clean public gradient mixed in, Adam at 3e-4
    assert config.pdp.public_mix == AUTO_MIX == "constant:0.3" and "public_mix" in notes[2]
    assert config.optim.learning_rate == PROJECTED_RATE == 3e-4 and "0.0003" in notes[3]
    assert len(notes) == 4
    assert resolve_start(config) == (config, [])  # idempotent: said once


def test_given_private_phase_settings_are_kept_and_the_mix_needs_the_auto_stage():
    given, notes = resolve_start(_config(public_mix="none", learning_rate=1e-3))
    assert (given.pdp.public_mix, given.optim.learning_rate) == ("none", 1e-3)
    assert len(notes) == 2  # the start and the stage only
    explicit_stage, _ = resolve_start(
        _config(init_from="preset:public_micro", public_finetune_steps=250)
    )
    assert explicit_stage.pdp.public_mix == "none"  # a flagfile's own pipeline is unchanged
    assert explicit_stage.optim.learning_rate == PROJECTED_RATE
    scratch, _ = resolve_start(_config(init_from="none"))
    assert scratch.pdp.public_mix == "none" and scratch.optim.learning_rate == DEFAULT_RATE
    # DP-SGD of the same pipeline: its own tuning, Adam 1e-3 without the mix
    dpsgd, _ = resolve_start(_config(projection="none"))
    assert dpsgd.pdp.public_finetune_steps == AUTO_STAGE_STEPS
    assert (dpsgd.pdp.public_mix, dpsgd.optim.learning_rate) == ("none", DEFAULT_RATE)
    assert DEFAULT_RATE == 1e-3
    public_only, _ = resolve_start(_config(nonprivate=True, projection="none"))
    assert public_only.pdp.public_finetune_steps == AUTO_STAGE_STEPS
    assert public_only.pdp.public_mix == "none"  # no public gradient in a non-private run


def test_the_default_preset_is_the_default_architecture_and_input_size():
    start = read_manifest(presets.resolve(DEFAULT_PRESET)).config
    default = RunConfig().model
    assert (start.model.model, start.model.input_size) == (default.model, default.input_size)
    assert (start.model.split_ratio, start.model.maps_per_joint) == (
        default.split_ratio,
        default.maps_per_joint,
    )
    assert default.norm == "auto" and start.data.synthetic_domain == "public"
    assert start.privacy.nonprivate  # a public model: trained on public data only


@pytest.mark.parametrize(
    "given", [{"model": "tiny_vit_micro"}, {"input_size": (256, 192)}, {"init_checkpoint": "w.h5"}]
)
def test_a_run_with_other_model_settings_starts_from_random_weights_without_a_stage(given):
    config, notes = resolve_start(_config(**given))
    assert config.model.init_from is None and config.pdp.public_finetune_steps == 0
    assert "random weights" in notes[0] and f"--{next(iter(given))}" in notes[0]


def test_none_asks_for_random_weights_and_an_explicit_stage_is_kept():
    config, _ = resolve_start(_config(init_from="none", public_finetune_steps=7))
    assert config.model.init_from is None and config.pdp.public_finetune_steps == 7
    config, _ = resolve_start(_config(init_from="preset:public_micro", public_finetune_steps=0))
    assert config.model.init_from == "preset:public_micro"
    assert config.pdp.public_finetune_steps == 0


def test_own_data_gets_the_stage_only_with_a_public_set_the_user_declared():
    own, notes = resolve_start(_config(data_dir="/data/clinic", projection="none"))
    assert own.model.init_from == DEFAULT_PRESET and own.pdp.public_finetune_steps == 0
    assert not any("public_finetune_steps" in n for n in notes)
    declared, _ = resolve_start(_config(data_dir="/data/clinic", public_fraction=0.02))
    assert declared.pdp.public_finetune_steps == AUTO_STAGE_STEPS
    from_file, _ = resolve_start(
        _config(data_dir="/data/clinic", public_source="file", public_annotations="pub.json")
    )
    assert from_file.pdp.public_finetune_steps == AUTO_STAGE_STEPS
