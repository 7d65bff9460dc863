"""Labels that are finite but absurd are refused at load (issue 47.4): they used to load and
then give NaN targets, or raise "Input is not invertible" inside tf.data at the step that
sampled them, which revealed the secret draw. Padding slots are a constant example that reads
no record: record 0 used to fill them (masked, but a NaN survives 0 * NaN)."""

import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfpose_dp.data.annotations import AnnotationError, load_records
from tfpose_dp.data.coco_keypoints import load_coco_records
from tfpose_dp.data.pipeline import make_example_fn
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.privacy import clipping

SIZE = (64, 48)


def _mpii(tmp_path, scales, center=(50.0, 60.0), joint=(40.0, 50.0)):
    Image.fromarray(np.full((120, 100, 3), 90, np.uint8)).save(tmp_path / "a.jpg")
    records = [
        {
            "image": "a.jpg",
            "center": list(center),
            "scale": s,
            "joints": [list(joint)] * 16,
            "joints_vis": [1] * 16,
        }
        for s in scales
    ]
    path = tmp_path / "train.json"
    path.write_text(json.dumps(records))
    return str(path)


@pytest.mark.parametrize("scale", [1e-38, 1e38, 1e-45])
def test_a_degenerate_scale_is_refused_at_load_naming_the_file_and_record(tmp_path, scale):
    path = _mpii(tmp_path, [0.3, scale])
    with pytest.raises(AnnotationError, match=r"train\.json.*a\.jpg.*crop box.*fix or remove"):
        load_records(path, str(tmp_path))


@pytest.mark.parametrize("where", [dict(center=(1e30, 5.0)), dict(joint=(-1e12, 3.0))])
def test_a_centre_or_joint_far_outside_any_image_is_refused(tmp_path, where):
    with pytest.raises(AnnotationError, match="out of range"):
        load_records(_mpii(tmp_path, [0.3], **where), str(tmp_path))


def test_a_coco_box_of_1e38_is_refused(tmp_path):
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "b.jpg")
    keypoints = [10.0, 10.0, 2.0] * 17
    raw = {
        "images": [{"id": 1, "file_name": "b.jpg"}],
        "annotations": [{"id": 7, "image_id": 1, "bbox": [1, 1, 1e38, 5], "keypoints": keypoints}],
        "categories": [{"id": 1, "name": "person", "keypoints": [], "skeleton": []}],
    }
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(AnnotationError, match="crop box"):
        load_coco_records(str(path), str(tmp_path))


def test_the_range_limits_give_finite_targets(tmp_path):
    """The smallest and largest accepted crops (~1 px and ~131,000 px across) build finite
    examples: nothing accepted at load can fail when sampled."""
    smallest, largest = 1.001 / (200 * 1.25), 131000.0 / (200 * 1.25)
    records = load_records(_mpii(tmp_path, [smallest, largest], joint=(1e5, -1e5)), str(tmp_path))
    fn = make_example_fn(records, SIZE, SimCCCodec(SIZE, 2.0))
    for i in range(2):
        example = fn(tf.constant(i, tf.int64), tf.constant(0, tf.int64))
        for name in ("image", "target_x", "target_y", "target_weight", "crop_to_image"):
            assert np.all(np.isfinite(example[name].numpy())), name


def test_padding_reads_no_record(tmp_path):
    a = load_records(_mpii(tmp_path, [0.3, 0.5]), str(tmp_path))
    b = load_records(_mpii(tmp_path, [0.1, 0.5], joint=(3.0, 90.0)), str(tmp_path))
    pads = [
        make_example_fn(r, SIZE, SimCCCodec(SIZE, 2.0))(tf.constant(-1, tf.int64), tf.constant(0))
        for r in (a, b)
    ]
    for name, value in pads[0].items():
        np.testing.assert_array_equal(value.numpy(), pads[1][name].numpy(), err_msg=name)
    assert float(tf.reduce_sum(tf.abs(pads[0]["image"]))) == 0.0
    assert float(pads[0]["mask"]) == 0.0 and int(pads[0]["index"]) == -1


def test_a_non_finite_padding_gradient_changes_no_update():
    """Whatever fills a padding slot, the clipped sum is that of the real units (before the
    fix a padding slot took its group's norm, so its NaN gradient passed the check)."""
    grads = [tf.constant([[3.0, 4.0], [0.3, 0.4], [np.nan, 1.0]])]
    mask, groups = tf.constant([1.0, 1.0, 0.0]), tf.constant([0, 0, -1])
    poisoned, _ = clipping.clipped_sum(grads, 1.0, mask, groups)
    clean, _ = clipping.clipped_sum([grads[0][:2]], 1.0, mask[:2], groups[:2])
    np.testing.assert_allclose(poisoned[0].numpy(), clean[0].numpy())
    summed, members = clipping.sum_by_group(grads, mask, groups)
    assert members.numpy().tolist() == [1.0, 0.0, 0.0]
    np.testing.assert_allclose(summed[0].numpy()[0], [3.3, 4.4], rtol=1e-6)
