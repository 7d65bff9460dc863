"""The run configuration: flags from fields, manifests read back whole, resume rules, validation."""

import dataclasses
import subprocess
import sys

import pytest

from tfpose_dp import run_config
from tfpose_dp.config_validation import validate
from tfpose_dp.run_config import ConfigError, RunConfig, changed_fixed_fields


def test_choices_agree_with_the_layers_that_own_them():
    from tfpose_dp.data.annotations import DATA_FORMATS
    from tfpose_dp.data.synthetic import DOMAINS
    from tfpose_dp.models.norms import NORM_CHOICES
    from tfpose_dp.models.pose_model import TRAINABLE_CHOICES
    from tfpose_dp.models.tinyvit import VARIANTS
    from tfpose_dp.privacy.accounting import ACCOUNTANTS
    from tfpose_dp.privacy.optimizer import OPTIMIZERS
    from tfpose_dp.skeleton import SKELETONS
    from tfpose_dp.training.distribution import STRATEGIES

    assert set(run_config.MODEL_VARIANTS) == set(VARIANTS)
    assert set(run_config.NORMS) == set(NORM_CHOICES) | {"auto"}
    assert set(run_config.TRAINABLE) == set(TRAINABLE_CHOICES)
    assert set(run_config.ACCOUNTANTS) == set(ACCOUNTANTS)
    assert set(run_config.OPTIMIZERS) == set(OPTIMIZERS)
    assert set(run_config.DOMAINS) == set(DOMAINS)
    assert set(run_config.STRATEGIES) == set(STRATEGIES)
    assert set(run_config.KEYPOINT_SETS) == set(SKELETONS) | {"auto", "from_data"}
    assert set(run_config.DATA_FORMATS) == set(DATA_FORMATS)


def test_field_names_are_unique_so_each_is_one_flag():
    names = [f.name for s in run_config.SECTIONS.values() for f in dataclasses.fields(s)]
    assert len(names) == len(set(names))


def test_manifest_json_round_trip_is_whole():
    config = RunConfig().replace(
        model="tiny_vit_micro",
        input_size=(96, 72),
        epsilon=0.2,
        projection="pdp",
        delta=1e-5,
        init_from="/x",
    )
    again = RunConfig.from_json(config.to_json())
    assert again == config and again.model.input_size == (96, 72) and again.method == "pdp"
    older = config.to_json()
    del older["pdp"]["pdp_diagnostics"]  # a field added later takes its default
    assert RunConfig.from_json(older).pdp.pdp_diagnostics is False


def test_changed_fixed_fields_are_found_and_others_ignored():
    saved = RunConfig()
    assert (
        changed_fixed_fields(saved, saved.replace(learning_rate=0.5, epochs=3.0, log_every=7)) == []
    )
    assert changed_fixed_fields(saved, saved.replace(delta=1e-6)) == [("delta", None, 1e-6)]
    assert [
        c[0] for c in changed_fixed_fields(saved, saved.replace(optimizer="sgd", l2_norm_clip=2.0))
    ] == ["optimizer", "l2_norm_clip"]


@pytest.mark.parametrize(
    "change,message",
    [
        ({"epsilon": 0.0}, "--epsilon=0.0 must be > 0"),
        ({"batch_size": 0}, "--batch_size=0 must be >= 1"),
        ({"delta": 2.0}, "--delta=2.0 must be in"),
        ({"input_size": (16, 16)}, "--input_size"),
        ({"nonprivate": True, "projection": "pdp"}, "means nothing with --nonprivate"),
        ({"model": "resnet"}, "--model='resnet' is not one of"),
        ({"init_from": "/no/such/run"}, "--init_from=/no/such/run does not exist"),
        ({"ema_decay": 1.0}, "--ema_decay"),
        ({"clipping": "ghost", "projection": "gep"}, "it needs --clipping=vmap"),
        ({"clipping": "book"}, "--clipping='book' is not one of"),
        ({"train_annotations": __file__}, "--train_annotations and --val_annotations come"),
        ({"val_annotations": __file__}, "--train_annotations and --val_annotations come"),
        (
            {"train_annotations": __file__, "val_annotations": __file__, "data_dir": "/"},
            "not both",
        ),
        ({"train_annotations": "/no/t.json", "val_annotations": __file__}, "/no/t.json does not"),
        (
            {"train_annotations": __file__, "val_annotations": __file__, "image_dir": "/no/im"},
            "--image_dir=/no/im does not exist",
        ),
    ],
)
def test_validation_gives_one_clear_message(change, message, tmp_path):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        validate(RunConfig().replace(model_dir=str(tmp_path), **change))


PUBLIC_SET_MESSAGE = "say where it comes from.*--public_annotations=FILE.*--public_fraction=F"


@pytest.mark.parametrize(
    "uses", [{"projection": "pdp"}, {"public_finetune_steps": 5}, {"public_mix": "cosine"}]
)
def test_a_private_run_on_own_data_must_name_its_public_set(uses, tmp_path):
    """Issue 47.2: the default holdout took 1 % of the user's own images as public, unasked."""
    own = {"data_dir": str(tmp_path)}
    with pytest.raises(ConfigError, match=PUBLIC_SET_MESSAGE):
        validate(RunConfig().replace(model_dir=str(tmp_path), **own, **uses))
    for named in (
        {"public_fraction": 0.02},
        {"public_source": "file", "public_annotations": __file__},
    ):
        config = RunConfig().replace(model_dir=str(tmp_path), **own, **uses, **named)
        validate(config)
        source = config.pdp.public_set_source(config.data.own_data())
        assert ("WITHOUT privacy protection" in source) == ("public_fraction" in named)
    validate(RunConfig().replace(model_dir=str(tmp_path), **uses))  # the built-in people


def test_every_flag_of_the_train_app_comes_from_a_field():
    out = subprocess.run(
        [sys.executable, "-m", "tfpose_dp.train", "--helpfull"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    for section in run_config.SECTIONS.values():
        for f in dataclasses.fields(section):
            shown = f"--[no]{f.name}" if f.type is bool else f"--{f.name}"
            assert (shown in out.stdout) == f.metadata["flag"], f.name
