"""A run on images holding several persons counts, samples and clips whole images."""

import json
import os
import shutil

import numpy as np
import pytest

from tfpose_dp.privacy import accounting
from tfpose_dp.training import trainer

pytestmark = pytest.mark.slow  # trains models


@pytest.fixture(scope="module")
def crowded_dir(synthetic_dir, tmp_path_factory):
    """The 120 synthetic people with persons 2k+1 (k < 20) moved into person 2k's image:
    100 images, 20 of them with two persons."""
    root = str(tmp_path_factory.mktemp("crowded"))
    shutil.copytree(os.path.join(synthetic_dir, "images"), os.path.join(root, "images"))
    os.makedirs(os.path.join(root, "annotations"))
    shutil.copy(
        os.path.join(synthetic_dir, "annotations", "valid.json"),
        os.path.join(root, "annotations", "valid.json"),
    )
    with open(os.path.join(synthetic_dir, "annotations", "train.json")) as f:
        people = json.load(f)
    for k in range(20):
        people[2 * k + 1]["image"] = people[2 * k]["image"]
    with open(os.path.join(root, "annotations", "train.json"), "w") as f:
        json.dump(people, f)
    return root


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"clipping": "ghost"},
        {"projection": "gep", "projection_dim": 4, "public_examples": 8, "public_fraction": 0.3},
    ],
    ids=["vmap", "ghost", "gep"],
)
def test_n_is_the_number_of_private_images(run_config, crowded_dir, tmp_path, overrides):
    final = trainer.run(
        run_config(tmp_path / "run", data_dir=crowded_dir, max_steps=2, **overrides)
    )
    n = final["num_private_examples"]
    if "projection" in overrides:  # whole held-out images leave; the rest stays whole
        assert n < 100
    else:
        assert n == 100
    assert final["unit_of_privacy"] == "one image (all persons in it)"
    assert f"of the N={n} private training images" in final["privacy_statement"]
    if "projection" in overrides:  # the statement names where the public set came from
        assert (
            "the public set: images of the user's own training data held out at "
            in (final["privacy_statement"])
        )
    expected = accounting.epsilon_spent(
        [(16 / n, final["noise_multiplier"], 2)], final["delta"], "pld", 4.0
    )
    assert final["epsilon"] == pytest.approx(expected, rel=1e-9)
    assert np.isfinite(final["pckh@0.5"])
