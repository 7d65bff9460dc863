import json

import numpy as np
import pytest

from tfpose_dp.data.annotations import load_split
from tfpose_dp.training.datasets import PublicDataError, split_public


def test_holdout_public_set_is_removed_from_the_private_set(synthetic_dir):
    train = load_split(synthetic_dir, "train")
    private, public = split_public(train, "holdout", 20, seed=0, holdout_fraction=0.3)
    assert len(public) == 20 and 20 < len(train) - len(private) < len(train) / 2
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
    private, public = split_public(train, "holdout", 4, seed=1, holdout_fraction=0.5)
    assert len(public) == 4
    public_images = set(public.image_names())
    assert not public_images & set(private.image_names())
    # No image is split: an image's persons are all private or all held out.
    private_names = list(private.image_names())
    for name in set(train.image_names()):
        assert private_names.count(name) in (0, list(train.image_names()).count(name))


def test_validation_sharing_an_image_with_training_is_refused(tmp_path):
    from tfpose_dp.training.datasets import SplitOverlapError, load_train_val

    _multi_person_records(tmp_path, [2, 1])
    with pytest.raises(SplitOverlapError, match="validation split shares 2 image"):
        load_train_val(str(tmp_path), 0, 0, 0)


def _named_records(names):
    """One person per image name, no image files (the split reads names only)."""
    from tfpose_dp.data.annotations import records_from_list

    raw = [
        {
            "image": name,
            "center": [30, 30],
            "scale": 0.2,
            "joints": [[10, 10 + j] for j in range(16)],
            "joints_vis": [1] * 16,
        }
        for name in names
    ]
    return records_from_list(raw, "ann.json", "/nonexistent", check_files=False)


@pytest.mark.parametrize("new_name", ["0000_first.jpg", "m_middle.jpg", "zzzz_last.jpg"])
def test_adding_one_image_moves_the_holdout_by_that_image_alone(new_name):
    names = [f"img_{i:05d}.jpg" for i in range(3000)]
    base = _named_records(names)
    grown = _named_records(sorted(names + [new_name]))
    for seed in (0, 1):
        split = [split_public(d, "holdout", 20, seed, holdout_fraction=0.02) for d in (base, grown)]
        (private_a, public_a), (private_b, public_b) = split
        held_a = set(names) - set(private_a.image_names())
        held_b = set(grown.image_names()) - set(private_b.image_names())
        assert held_a ^ held_b <= {new_name}
        assert set(private_a.image_names()) ^ set(private_b.image_names()) <= {new_name}
        assert len(held_a) > 20  # the comparison is over a real holdout


def test_a_holdout_too_small_for_public_examples_says_which_flag_to_raise():
    records = _named_records([f"{i}.jpg" for i in range(100)])
    with pytest.raises(PublicDataError, match="raise --public_fraction"):
        split_public(records, "holdout", 50, 0, holdout_fraction=0.1)


def test_holdout_rate_comes_from_the_flags_alone():
    from tfpose_dp.training.datasets import DEFAULT_PUBLIC_FRACTION, holdout_rate

    assert holdout_rate(100, 0.05, "/data", 4000) == 0.05
    assert holdout_rate(100, None, "/data", 4000) == DEFAULT_PUBLIC_FRACTION
    rate = holdout_rate(100, None, None, 4000)
    assert np.isclose(rate, 155 / 4000)
