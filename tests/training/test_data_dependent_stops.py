"""Nothing the run does depends on one private record except through the noisy release."""

import os

import numpy as np
import pytest

from tfpose_dp.training import datasets, trainer

pytestmark = pytest.mark.slow  # trains a model end to end


def test_a_nan_label_neither_stops_the_run_nor_changes_its_epsilon(
    run_config, tmp_path, monkeypatch
):
    load = datasets.load_train_val

    def with_poisoned_record(*args, **kwargs):
        train, val, description = load(*args, **kwargs)
        train.joints[3] = np.nan  # past the loader's check: as if a label made the loss NaN
        return train, val, description

    monkeypatch.setattr(datasets, "load_train_val", with_poisoned_record)
    # q = 1: the poisoned record is in every logical batch.
    final = trainer.run(run_config(tmp_path / "run", batch_size=120, epochs=2, max_steps=0))
    planned = trainer.run(run_config(tmp_path / "clean", batch_size=120, epochs=2, max_steps=0))
    assert final["steps"] == 2
    assert final["epsilon"] == pytest.approx(planned["epsilon"])
    assert planned["steps"] == 2 and np.isfinite(final["pckh@0.5"])
    private = os.path.join(tmp_path, "run", "private")
    logged = "".join(
        open(os.path.join(private, f)).read() for f in os.listdir(private) if f.endswith(".log")
    )
    assert "nan" in logged.lower()  # the NaN private loss is a private diagnostic only
