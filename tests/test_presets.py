"""The presets shipped with the package: each is a public model that restores whole into the
model its manifest describes, and says how to reproduce it."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp import presets
from tfpose_dp.runs import checkpoints
from tfpose_dp.runs.restore import checkpoint_dir, load_trained_model


def _stored_model_values(reader):
    """{name: shape} of the model weights stored in a preset (not the checkpoint's bookkeeping)."""
    return {
        name: shape
        for name, shape in reader.get_variable_to_shape_map().items()
        if name.startswith("model/") and name.endswith("/.ATTRIBUTES/VARIABLE_VALUE")
    }


def test_the_package_ships_presets():
    assert "public_micro" in presets.available()


@pytest.mark.parametrize("name", presets.available())
def test_a_preset_is_public_and_restores_whole(name):
    path = presets.PREFIX + name
    model, _, manifest = load_trained_model(path)
    config = manifest.config
    assert config.privacy.nonprivate and config.data.synthetic_domain == "public"
    assert config.data.data_dir is None, "a preset trains on the built-in public people only"

    ckpt = checkpoint_dir(path)
    reader = tf.train.load_checkpoint(checkpoints.checkpoint_prefix(ckpt))
    stored = _stored_model_values(reader)
    assert len(stored) == len(model.weights), "every model weight is in the preset, no more"
    assert sum(int(np.prod(s)) for s in stored.values()) == model.count_params()

    # Restored, not left at initialisation: the weights equal the stored values.
    stored_sums = sorted(float(np.abs(reader.get_tensor(n)).sum()) for n in stored)
    model_sums = sorted(float(np.abs(w.numpy()).sum()) for w in model.weights)
    np.testing.assert_allclose(model_sums, stored_sums, rtol=1e-6)

    with open(os.path.join(ckpt, "README.md")) as f:
        readme = f.read()
    assert "python -m tfpose_dp.train" in readme and f"--name={name}" in readme
