import json

import pytest

from tfpose_dp.data.annotations import AnnotationError, find_annotation_file, load_records


def _write(tmp_path, records, image=True):
    if image:
        (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 header only")
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(records))
    return str(path)


def _record(**overrides):
    rec = {"image": "a.jpg", "center": [50, 50], "scale": 1.0,
           "joints": [[10 + i, 20 + i] for i in range(16)], "joints_vis": [1] * 16}
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
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 jpeg-ish")
    (tmp_path / "b.jpg").write_bytes(b"<html>not found</html>")
    (tmp_path / "c.jpg").write_bytes(b"")
    path = tmp_path / "ann.json"
    path.write_text(json.dumps([_record(), _record(image="b.jpg"), _record(image="c.jpg")]))
    assert len(load_records(str(path), str(tmp_path))) == 1
