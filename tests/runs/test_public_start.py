"""--init_from refuses a start model trained on this run's own data however the flags name it
(issue 47.8): it compared flag forms, so a model trained with --data_dir=D was accepted as the
start of a run given --train_annotations=D/annotations/train.json."""

import json
import shutil
import types

import pytest

from tfpose_dp.run_config import RunConfig
from tfpose_dp.runs.restore import IncompatibleModel, check_public_start


def _source(config):
    return types.SimpleNamespace(config=config, data_description="the clinic's images")


@pytest.fixture()
def clinic(tmp_path):
    (tmp_path / "clinic" / "annotations").mkdir(parents=True)
    (tmp_path / "clinic" / "annotations" / "train.json").write_text(json.dumps([{"image": "a"}]))
    return tmp_path / "clinic"


def test_data_dir_and_its_train_annotations_are_the_same_data(clinic):
    trained = RunConfig().replace(data_dir=str(clinic))
    wanted = RunConfig().replace(train_annotations=str(clinic / "annotations" / "train.json"))
    with pytest.raises(IncompatibleModel, match="own training data"):
        check_public_start(_source(trained), wanted, "runs/clinic")
    with pytest.raises(IncompatibleModel, match="own training data"):
        check_public_start(_source(wanted), trained, "runs/clinic")


def test_a_copy_of_the_annotation_file_is_the_same_data(clinic, tmp_path):
    copy = tmp_path / "elsewhere.json"
    shutil.copy(clinic / "annotations" / "train.json", copy)
    trained = RunConfig().replace(data_dir=str(clinic))
    with pytest.raises(IncompatibleModel, match="own training data"):
        check_public_start(_source(trained), RunConfig().replace(train_annotations=str(copy)), "x")


def test_other_data_is_accepted(clinic, tmp_path):
    other = tmp_path / "public.json"
    other.write_text(json.dumps([{"image": "b"}]))
    trained = RunConfig().replace(train_annotations=str(other))
    check_public_start(_source(trained), RunConfig().replace(data_dir=str(clinic)), "x")
    check_public_start(_source(RunConfig()), RunConfig().replace(data_dir=str(clinic)), "x")
