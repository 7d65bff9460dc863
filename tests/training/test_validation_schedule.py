"""--eval_every_epochs: which steps validate (and checkpoint)."""

import types

from tfpose_dp.run_config import RunConfig
from tfpose_dp.training import loop


def _validating_steps(steps_per_epoch, total_steps, every):
    config = RunConfig()
    config.runtime.eval_every_epochs = every
    run = types.SimpleNamespace(
        config=config, steps_per_epoch=steps_per_epoch, total_steps=total_steps, step=0
    )
    due = []
    for step in range(1, total_steps + 1):
        run.step = step
        if loop._validation_due(run):
            due.append(step)
    return due


def test_every_epoch_by_default():
    assert _validating_steps(16, 64, 1) == [16, 32, 48, 64]


def test_every_fourth_epoch_and_always_the_last_step():
    assert _validating_steps(16, 256, 4) == [64, 128, 192, 256]
    assert _validating_steps(16, 100, 4) == [64, 100]


def test_the_flag_exists_with_its_default():
    from absl import flags

    from tfpose_dp import config_flags

    config_flags.define_flags()
    assert flags.FLAGS["eval_every_epochs"].default == 1
