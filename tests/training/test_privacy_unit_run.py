"""--privacy_unit=FIELD (issue 47.9): the records of one patient (or video) form one unit: N
counts patients, the holdout takes whole patients, the statement names the unit."""

import json

import numpy as np
import pytest
from PIL import Image

from tfpose_dp.data.annotations import load_records
from tfpose_dp.training import trainer
from tfpose_dp.training.run_data import load_run_data
from tfpose_dp.training.unit_keys import UnitError, unit_keys


def _records(tmp_path, patients):
    """One person per (image, patient id) pair."""
    rows = []
    for i, (image, patient) in enumerate(patients):
        path = tmp_path / image
        if not path.exists():
            Image.fromarray(np.full((80, 60, 3), 100, np.uint8)).save(path)
        rows.append(
            {
                "image": image,
                "center": [30.0 + i % 3, 40.0],
                "scale": 0.3,
                "joints": [[30.0, 40.0]] * 16,
                "joints_vis": [1] * 16,
                **({"patient_id": patient} if patient is not None else {}),
            }
        )
    (tmp_path / "train.json").write_text(json.dumps(rows))
    return load_records(str(tmp_path / "train.json"), str(tmp_path))


def test_records_group_by_the_named_field(tmp_path):
    records = _records(tmp_path, [("a.jpg", 7), ("b.jpg", 7), ("c.jpg", "x"), ("c.jpg", "x")])
    assert unit_keys(records, "patient_id").tolist() == ["patient_id=7"] * 2 + ["patient_id=x"] * 2
    assert unit_keys(records, "image").tolist() == ["a.jpg", "b.jpg", "c.jpg", "c.jpg"]


@pytest.mark.parametrize(
    "patients,message",
    [
        ([("a.jpg", 1), ("b.jpg", None)], "b.jpg has no 'patient_id' field"),
        ([("a.jpg", 1), ("a.jpg", 2)], "one image must belong to one unit"),
    ],
)
def test_a_record_without_its_unit_or_an_image_split_across_units_is_refused(
    tmp_path, patients, message
):
    with pytest.raises(UnitError, match=message):
        unit_keys(_records(tmp_path, patients), "patient_id")


def test_the_built_in_people_form_patients_of_four_images(run_config, tmp_path):
    config = run_config(tmp_path, privacy_unit="patient_id")
    data = load_run_data(config, None, slice_size=16)
    assert data.num_units == 30 and all(len(u) == 4 for u in data.units)  # 120 images
    assert len(set(data.unit_salts)) == 30
    image = load_run_data(run_config(tmp_path), None, slice_size=16)
    assert image.num_units == 120 and image.unit_salts is None


def test_the_holdout_takes_whole_patients(run_config, tmp_path):
    config = run_config(
        tmp_path,
        privacy_unit="patient_id",
        projection="pdp",
        public_examples=8,
        public_fraction=0.2,
        projection_dim=4,
    )
    data = load_run_data(config, None, slice_size=16)
    private = set(unit_keys(data.train, "patient_id"))
    public = set(unit_keys(data.public, "patient_id"))
    assert private and public and not private & public
    assert data.num_units == len(private) and all(len(u) == 4 for u in data.units)


@pytest.mark.slow  # trains
def test_a_per_patient_run_counts_and_names_patients(run_config, tmp_path):
    final = trainer.run(run_config(tmp_path / "run", privacy_unit="patient_id", max_steps=2))
    assert final["num_private_examples"] == 30
    assert final["unit_of_privacy"] == "one patient_id (all its images, all persons in them)"
    assert "of the N=30 private units" in final["privacy_statement"]
    assert "zero-out" in final["privacy_statement"]
    assert "per-unit L2 clip" in final["privacy_statement"]
