"""Every refused privacy setting is a clear error before anything is written (in process; the
command line's exit code and stderr: tests/test_train_app.py)."""

import os

import pytest

from tfpose_dp.privacy.accounting import PrivacyConfigError
from tfpose_dp.run_config import ConfigError
from tfpose_dp.training import trainer


@pytest.mark.parametrize(
    "change,message",
    [
        ({"epsilon": 0.0}, "--epsilon=0.0 must be > 0"),
        ({"epsilon": -1.0}, "--epsilon=-1.0 must be > 0"),
        ({"delta": 0.5}, "must be in (0, 1/N)"),
        ({"epsilon": 1e-6, "epochs": 50}, "out of reach"),
        ({"batch_size": 0}, "--batch_size=0 must be >= 1"),
        ({"batch_size": 500}, "--batch_size=500 must be in [1, N=120]"),
    ],
)
def test_bad_privacy_settings_fail_cleanly_and_write_nothing(tmp_path, run_config, change, message):
    model_dir = tmp_path / "bad"
    with pytest.raises((ConfigError, PrivacyConfigError)) as refused:
        trainer.run(run_config(model_dir, **change))
    assert message in str(refused.value)
    assert not os.path.exists(model_dir)
