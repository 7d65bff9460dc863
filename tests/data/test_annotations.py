import io
import json
import logging
import os

import numpy as np
import pytest
from PIL import Image

from tfpose_dp.data import image_check
from tfpose_dp.data.annotations import AnnotationError, find_annotation_file, load_records


def _jpeg_bytes(size=(64, 48), seed=0):
    pixels = np.random.RandomState(seed).randint(0, 255, (size[1], size[0], 3), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG")
    return buf.getvalue()


def _write(tmp_path, records, image=True):
    if image:
        (tmp_path / "a.jpg").write_bytes(_jpeg_bytes())
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(records))
    return str(path)


def _record(**overrides):
    rec = {
        "image": "a.jpg",
        "center": [50, 50],
        "scale": 1.0,
        "joints": [[10 + i, 20 + i] for i in range(16)],
        "joints_vis": [1] * 16,
    }
    rec.update(overrides)
    return rec


def test_wrong_joint_count_names_file_and_record(tmp_path):
    path = _write(tmp_path, [_record(), _record(joints=[[1, 2]] * 14, joints_vis=[1] * 14)])
    with pytest.raises(AnnotationError, match=r"record 1 .*16 joints"):
        load_records(path, str(tmp_path))


def test_missing_images_and_invisible_persons_are_counted_skips(tmp_path):
    path = _write(tmp_path, [_record(), _record(image="gone.jpg"), _record(joints_vis=[0] * 16)])
    records = load_records(path, str(tmp_path))
    assert len(records) == 1


def test_coordinates_become_zero_based(tmp_path):
    records = load_records(_write(tmp_path, [_record()]), str(tmp_path))
    assert records.joints[0, 0].tolist() == [9.0, 19.0]
    assert records.centers[0].tolist() == [49.0, 49.0]


def test_data_dir_without_annotations_says_what_is_expected(tmp_path):
    with pytest.raises(AnnotationError, match="train.json"):
        find_annotation_file(str(tmp_path), "train")


def test_unreadable_json_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(AnnotationError, match="cannot read"):
        load_records(str(path), str(tmp_path))


def test_non_image_files_are_counted_skips(tmp_path):
    (tmp_path / "a.jpg").write_bytes(_jpeg_bytes())
    (tmp_path / "b.jpg").write_bytes(b"<html>not found</html>")
    (tmp_path / "c.jpg").write_bytes(b"")
    path = tmp_path / "ann.json"
    path.write_text(json.dumps([_record(), _record(image="b.jpg"), _record(image="c.jpg")]))
    assert len(load_records(str(path), str(tmp_path))) == 1


def test_corrupt_jpegs_are_counted_skips_not_errors_mid_epoch(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="absl")  # every line, whatever absl's verbosity
    good = _jpeg_bytes(seed=1)
    (tmp_path / "a.jpg").write_bytes(good)
    garbage = np.random.RandomState(0).randint(0, 255, 3000).astype(np.uint8).tobytes()
    (tmp_path / "scrambled.jpg").write_bytes(good[:300] + garbage)  # valid header, broken data
    (tmp_path / "header.jpg").write_bytes(good[:40])
    path = tmp_path / "ann.json"
    path.write_text(
        json.dumps([_record(), _record(image="scrambled.jpg"), _record(image="header.jpg")])
    )
    records = load_records(str(path), str(tmp_path))
    assert [p.rsplit("/", 1)[-1] for p in records.image_paths] == ["a.jpg"]
    report = records.load_report
    assert report["skipped_undecodable_image"] == 2 and report["kept"] == 1
    assert sorted(report["undecodable_examples"]) == ["header.jpg", "scrambled.jpg"]
    assert "scrambled" not in caplog.text  # private names never reach the shared log


def test_image_checks_are_cached_and_redone_when_a_file_changes(tmp_path, monkeypatch):
    paths = []
    for i in range(3):
        (tmp_path / f"{i}.jpg").write_bytes(_jpeg_bytes(seed=i))
        paths.append(str(tmp_path / f"{i}.jpg"))
    private = tmp_path / "private"
    private.mkdir()
    checked = []
    real = image_check._decodes
    monkeypatch.setattr(image_check, "_decodes", lambda todo: checked.extend(todo) or real(todo))
    with image_check.cached_in(str(private)) as cache:
        assert image_check.undecodable_images(paths) == set()
        assert image_check.undecodable_images(paths) == set()
        assert checked == paths  # checked once
    cache.save()
    assert oct(os.stat(private / image_check.CACHE_FILE).st_mode & 0o777) == "0o600"
    with image_check.cached_in(str(private)) as cache:  # the next run reads it back
        assert image_check.undecodable_images(paths) == set()
        assert checked == paths
        (tmp_path / "1.jpg").write_bytes(b"<html>replaced by an error page</html>")
        assert image_check.undecodable_images(paths) == {paths[1]}
        assert checked == paths + [paths[1]]


def test_image_checks_outside_a_runs_private_folder_keep_nothing(tmp_path, monkeypatch):
    """The checks name private images (path, size, time, decodes or not): outside a run's
    MODEL_DIR/private/ nothing is written (they went to ~/.cache before, issue 47.7)."""
    (tmp_path / "a.jpg").write_bytes(_jpeg_bytes(seed=0))
    cache = tmp_path / "cache"
    monkeypatch.setenv("TFPOSE_DP_CACHE", str(cache))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert image_check.undecodable_images([str(tmp_path / "a.jpg")]) == set()
    assert not cache.exists() and not (tmp_path / "home").exists()


@pytest.mark.parametrize(
    "field,value",
    [
        ("joints", [[float("nan"), 1.0]] + [[10 + i, 20 + i] for i in range(15)]),
        ("joints", [[float("inf"), 1.0]] + [[10 + i, 20 + i] for i in range(15)]),
        ("center", [float("nan"), 50]),
        ("scale", float("inf")),
        ("joints_vis", [float("nan")] + [1] * 15),
    ],
)
def test_non_finite_labels_are_refused_at_load_naming_the_record(tmp_path, field, value):
    # json.dump writes NaN/Infinity and json.load reads them back: the loader must refuse them.
    path = _write(tmp_path, [_record(), _record(**{field: value})])
    with pytest.raises(AnnotationError, match=r"ann.json record 1 \(a.jpg\): non-finite"):
        load_records(path, str(tmp_path))
