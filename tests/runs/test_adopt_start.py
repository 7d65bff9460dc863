"""--init_from's shape settings: taken from the start model where the command gave none, a
given one that differs refused naming it (runs/restore.py adopt_start)."""

import pytest

from tfpose_dp.run_config import RunConfig
from tfpose_dp.runs.restore import IncompatibleModel, adopt_start

START = "preset:public_micro"  # TinyViT-micro at 96x72, GroupNorm


def _config(**flat):
    return RunConfig.from_flat({"init_from": START, "model_dir": "/x", **flat})


def test_the_start_models_shape_is_taken_where_none_was_given():
    config, adopted = adopt_start(_config(), given={"epsilon"}, path=START)
    assert adopted == {"model": "tiny_vit_micro", "input_size": (96, 72), "norm": "group"}
    assert (config.model.model, config.model.input_size) == ("tiny_vit_micro", (96, 72))


def test_a_given_setting_equal_to_the_start_is_kept_and_a_different_one_refused():
    config, adopted = adopt_start(_config(model="tiny_vit_micro"), {"model"}, START)
    assert "model" not in adopted and config.model.input_size == (96, 72)
    with pytest.raises(IncompatibleModel, match="--input_size=96,72.*leave --input_size out"):
        adopt_start(_config(input_size=(128, 96)), {"input_size"}, START)
