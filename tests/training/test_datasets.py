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
    return train, split_public(
        train, "file", 100, 0, str(path), public_image_dir=f"{synthetic_dir}/images"
    )


def test_overlapping_public_file_is_refused(synthetic_dir, tmp_path):
    with pytest.raises(PublicDataError, match="shares 5 image.*'000000.jpg'"):
        _public_from(synthetic_dir, tmp_path, "train")


def test_disjoint_public_file_is_accepted(synthetic_dir, tmp_path):
    train, (private, public) = _public_from(synthetic_dir, tmp_path, "valid")
    assert len(public) == 5 and len(private) == len(train)


def _multi_person_records(tmp_path, persons_per_image):
    """A split whose images hold several persons each (as MPII's do)."""
    from PIL import Image

    records, index = [], 0
    (tmp_path / "images").mkdir()
    for image, count in enumerate(persons_per_image):
        Image.new("RGB", (64, 64), (image * 20 % 255, 90, 40)).save(
            tmp_path / "images" / f"{image}.jpg"
        )
        for person in range(count):
            records.append(
                {
                    "image": f"{image}.jpg",
                    "center": [20 + 5 * person, 30],
                    "scale": 0.2,
                    "joints": [[10 + person, 10 + j] for j in range(16)],
                    "joints_vis": [1] * 16,
                }
            )
            index += 1
    (tmp_path / "annotations").mkdir()
    for split in ("train", "valid"):
        (tmp_path / "annotations" / f"{split}.json").write_text(json.dumps(records))
    return load_split(str(tmp_path), "train")


def test_holdout_takes_whole_images(tmp_path):
    train = _multi_person_records(tmp_path, [3, 1, 2, 4, 1, 2, 3, 1])
    private, public = split_public(train, "holdout", 4, seed=0)
    assert len(public) == 4
    public_images = set(public.image_names())
    assert not public_images & set(private.image_names())
    held = [n for n in train.image_names() if n in public_images]
    assert len(private) == len(train) - len(held)  # every person of a public image left


def test_validation_sharing_an_image_with_training_is_refused(tmp_path):
    from tfpose_dp.training.datasets import SplitOverlapError, load_train_val

    _multi_person_records(tmp_path, [2, 1])
    with pytest.raises(SplitOverlapError, match="validation split shares 2 image"):
        load_train_val(str(tmp_path), 0, 0, 0)
