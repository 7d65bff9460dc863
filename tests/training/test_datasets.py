import json

import pytest

from tfpose_dp.data.annotations import load_split
from tfpose_dp.training.datasets import PublicDataError, split_public


def test_holdout_public_set_is_removed_from_the_private_set(synthetic_dir):
    train = load_split(synthetic_dir, "train")
    private, public = split_public(train, "holdout", 20, seed=0)
    assert len(public) == 20 and len(private) == len(train) - 20
    assert not set(private.ids) & set(public.ids)


def _public_from(synthetic_dir, tmp_path, split):
    """Splits train with a public file holding the first 5 persons of `split`."""
    with open(f"{synthetic_dir}/annotations/{split}.json") as f:
        records = json.load(f)[:5]
    path = tmp_path / "public.json"
    path.write_text(json.dumps(records))
    train = load_split(synthetic_dir, "train")
    return train, split_public(train, "file", 100, 0, str(path), public_image_dir=f"{synthetic_dir}/images")


def test_overlapping_public_file_is_refused(synthetic_dir, tmp_path):
    with pytest.raises(PublicDataError, match="shares 5 person"):
        _public_from(synthetic_dir, tmp_path, "train")


def test_disjoint_public_file_is_accepted(synthetic_dir, tmp_path):
    train, (private, public) = _public_from(synthetic_dir, tmp_path, "valid")
    assert len(public) == 5 and len(private) == len(train)
