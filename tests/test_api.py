"""The Python API: README's and docs/api.md's examples run; load + predict; the Keras way."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_blocks(path, section=None):
    """The ```python blocks of a Markdown file (of one `## section` when named)."""
    with open(os.path.join(REPO, path)) as f:
        text = f.read()
    if section is not None:
        text = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def _run(blocks):
    namespace = {"__name__": "docs_example"}
    for block in blocks:
        exec(compile(block, "<docs>", "exec"), namespace)
    return namespace


def test_readme_python_api_example_runs():
    (block,) = python_blocks("README.md", "Python API")
    ns = _run([block])
    poses, image = ns["poses"], ns["image"]
    assert poses.shape == (1, 16, 3) and ns["est"].privacy_record is None
    assert np.isfinite(poses).all() and (poses[..., 2] >= 0).all() and (poses[..., 2] <= 1).all()
    assert (poses[..., 0] >= 0).all() and (poses[..., 0] < image.shape[1]).all()


def _fast(blocks):
    return [b for b in blocks if not b.startswith("# slow")]


def test_docs_api_examples_run_and_train_privately():
    blocks = python_blocks("docs/api.md")
    assert len(_fast(blocks)) == 3 and len(blocks) == 4
    ns = _run(_fast(blocks))
    assert ns["poses"].shape == (2, 16, 3)
    assert sorted(ns["logits"]) == ["simcc_x", "simcc_y"]
    history = ns["history"].history
    assert history["epsilon"][-1] <= 1.0 + 1e-6 and history["epsilon"][-1] > 0.5
    assert history["val_accuracy"][-1] > 0.8  # the toy task is learnt under DP


@pytest.mark.slow
def test_docs_api_pose_fine_tuning_example_runs():
    ns = _run(python_blocks("docs/api.md"))
    assert ns["history"].history["epsilon"][-1] <= 8.0 + 1e-6
    assert ns["poses"].shape == (1, 16, 3) and np.isfinite(ns["poses"]).all()


def test_two_boxes_on_a_real_photo_give_two_skeletons_inside_them(coco_sample):
    from PIL import Image

    import tfpose_dp

    with open(os.path.join(coco_sample, "test_coco.json")) as f:
        coco = json.load(f)
    image_id = next(i["id"] for i in coco["images"] if i["file_name"] == "000000040083.jpg")
    boxes = np.array(
        [a["bbox"] for a in coco["annotations"] if a["image_id"] == image_id and a["num_keypoints"]]
    )
    assert len(boxes) == 2
    image = np.asarray(Image.open(os.path.join(coco_sample, "000000040083.jpg")).convert("RGB"))
    poses = tfpose_dp.load("preset:public_micro").predict(image, boxes)
    assert poses.shape == (2, 16, 3)
    for (x, y, w, h), joints in zip(boxes, poses):
        inside = (
            (joints[:, 0] >= x)
            & (joints[:, 0] <= x + w)
            & (joints[:, 1] >= y)
            & (joints[:, 1] <= y + h)
        )
        assert inside.mean() >= 0.75  # each skeleton in its own person's box
    assert np.median(poses[0, :, 0]) < boxes[1][0] < np.median(poses[1, :, 0])


def test_one_box_alone_gives_the_same_skeleton_as_in_a_batch():
    import tfpose_dp
    from tfpose_dp.data.synthetic import make_sample

    est = tfpose_dp.load("preset:public_micro")
    image = np.asarray(make_sample(0, 3)[0])
    boxes = [[10, 10, 100, 150], [60, 30, 90, 140]]
    both = est.predict(image, boxes, flip_test=False)
    np.testing.assert_allclose(
        est.predict(image, boxes[1:], flip_test=False)[0], both[1], atol=1e-3
    )


def test_a_saved_model_loads_and_predicts_like_the_run(tmp_path):
    import tfpose_dp
    from tfpose_dp.data.synthetic import make_sample
    from tfpose_dp.export import formats

    est = tfpose_dp.load("preset:public_micro")
    record = {"epsilon": 1.0, "delta": 1e-5, "keypoints": "mpii16", "method": "dp-sgd"}
    formats.write_saved_model(est.keras_model, est.codec, str(tmp_path / "sm"), record)
    served = tfpose_dp.load(str(tmp_path / "sm"))
    assert served.keras_model is None and served.privacy_record["epsilon"] == 1.0
    assert served.joint_names == est.joint_names and served.input_size == est.input_size
    image = np.asarray(make_sample(0, 1)[0])
    a, b = est.predict(image), served.predict(image)
    # the SavedModel takes uint8 crops: rounding the crop moves a joint by at most a bin or two
    assert np.median(np.abs(a[..., :2] - b[..., :2])) < 1.0
    np.testing.assert_allclose(a[..., 2], b[..., 2], atol=0.05)


def test_bad_input_gets_a_clear_error(tmp_path):
    import tfpose_dp

    est = tfpose_dp.load("preset:public_micro")
    with pytest.raises(ValueError, match="HxWx3"):
        est.predict(np.zeros([4, 5, 2], np.uint8))
    with pytest.raises(ValueError, match="w, h > 0"):
        est.predict(np.zeros([40, 50, 3], np.uint8), boxes=[[0, 0, 0, 10]])
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        est.predict(np.zeros([40, 50, 3], np.uint8), boxes=[[0, 0, 10]])
    with pytest.raises(FileNotFoundError, match="no training checkpoint"):
        tfpose_dp.load(str(tmp_path / "nothing"))
    assert est.predict(np.zeros([40, 50, 3], np.uint8), boxes=np.zeros([0, 4])).shape == (0, 16, 3)


def test_import_and_predict_define_no_project_flags():
    script = (
        "import numpy as np, tfpose_dp\n"
        "from absl import flags\n"
        "tfpose_dp.load('preset:public_micro').predict(np.zeros([64, 48, 3], np.uint8))\n"
        "from tfpose_dp import privacy\n"
        "mine = [m for m in flags.FLAGS.flags_by_module_dict() if 'tfpose_dp' in m]\n"
        "assert not mine, mine\n"
        "flags.DEFINE_string('checkpoint', None, 'a user program may define its own')\n"
        "print(tfpose_dp.__version__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.match(r"\d+\.\d+", out.stdout.strip().splitlines()[-1])
