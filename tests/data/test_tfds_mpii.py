import os
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.data.annotations import AnnotationError, load_records, load_split
from tfpose_dp.data.pipeline import make_example_fn
from tfpose_dp.models.simcc import SimCCCodec

SIZE = (64, 48)


def _build(manual_dir, data_dir):
    import tensorflow_datasets as tfds

    from tfpose_dp.data.tfds_mpii.tfds_mpii_dataset_builder import Builder

    builder = Builder(data_dir=str(data_dir))
    builder.download_and_prepare(
        file_format="array_record",
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)),
    )
    return builder


@pytest.fixture
def manual_dir(mpii_release, mpii_sample, tmp_path):
    """The official layout: images tarball + release .mat + gt_valid.mat, from the sample."""
    mat, gt_valid, _ = mpii_release
    manual = tmp_path / "manual"
    manual.mkdir()
    shutil.copy(mat, manual)
    shutil.copy(gt_valid, manual)
    with tarfile.open(manual / "mpii_human_pose_v1.tar.gz", "w:gz") as tar:
        for name in sorted(os.listdir(mpii_sample)):
            if name.endswith(".jpg"):
                tar.add(os.path.join(mpii_sample, name), arcname=f"images/{name}")
    return manual


def test_build_from_tarball_and_mat_gives_the_same_crops_as_the_raw_files(
    manual_dir, mpii_sample, tmp_path
):
    _build(manual_dir, tmp_path / "tfds")
    train = load_split(f"tfds:{tmp_path / 'tfds'}", "train")
    valid = load_split(f"tfds:{tmp_path / 'tfds'}", "valid")
    assert (len(train), len(valid)) == (3, 2)
    raw = load_records(os.path.join(mpii_sample, "test_mpii.json"), mpii_sample)
    codec = SimCCCodec(SIZE)
    from_tfds = make_example_fn(valid, SIZE, codec)
    from_files = make_example_fn(raw, SIZE, codec)
    names = [os.path.basename(p) for p in raw.image_paths]
    ds = tf.data.Dataset.range(len(valid)).map(lambda i: from_tfds(i, tf.constant(0, tf.int64)))
    for i, example in enumerate(ds):  # graph mode, through tf.data, reading by index
        j = names.index(os.path.basename(valid.image_paths[i]))
        expected = from_files(tf.constant(j, tf.int64), tf.constant(0, tf.int64))
        np.testing.assert_allclose(example["image"].numpy(), expected["image"].numpy(), atol=1e-5)
        np.testing.assert_allclose(
            example["target_x"].numpy(), expected["target_x"].numpy(), atol=1e-6
        )
    assert np.all(valid.head_sizes > 0)
    # A subset (as the public/private split takes) still reads its own images.
    sub = valid.subset([1])
    one = make_example_fn(sub, SIZE, codec)(tf.constant(0, tf.int64), tf.constant(0, tf.int64))
    two = from_tfds(tf.constant(1, tf.int64), tf.constant(0, tf.int64))
    np.testing.assert_array_equal(one["image"].numpy(), two["image"].numpy())


def test_build_command_makes_it_from_a_folder_with_json_annotations(mpii_sample, tmp_path):
    manual = tmp_path / "manual"
    (manual / "images").mkdir(parents=True)
    for name in os.listdir(mpii_sample):
        if name.endswith(".jpg"):
            shutil.copy(os.path.join(mpii_sample, name), manual / "images")
    (manual / "images" / "052475643.jpg").write_bytes(b"\xff\xd8 broken")
    shutil.copy(os.path.join(mpii_sample, "test_mpii.json"), manual / "train.json")
    shutil.copy(os.path.join(mpii_sample, "test_mpii.json"), manual / "valid.json")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tfpose_dp.data.tfds_mpii",
            f"--manual_dir={manual}",
            f"--data_dir={tmp_path / 'tfds'}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    train = load_split(f"tfds:{tmp_path / 'tfds'}", "train")
    assert len(train) == 4  # the corrupt image's person is a counted skip
    import tensorflow_datasets as tfds

    info = tfds.builder("tfds_mpii", data_dir=str(tmp_path / "tfds")).info
    assert info.metadata["train_skipped"] == {"missing_image": 0, "corrupt_image": 1}


def test_missing_build_says_how_to_make_it(tmp_path):
    with pytest.raises(AnnotationError, match="python -m tfpose_dp.data.tfds_mpii"):
        load_split(f"tfds:{tmp_path}", "train")


@pytest.mark.slow
def test_trainer_runs_on_the_tfds_build(manual_dir, tmp_path):
    from tfpose_dp.run_config import RunConfig
    from tfpose_dp.training.trainer import run

    _build(manual_dir, tmp_path / "tfds")
    cfg = RunConfig.from_flat(
        dict(
            model_dir=str(tmp_path / "run"),
            data_dir=f"tfds:{tmp_path / 'tfds'}",
            model="tiny_vit_micro",
            input_size=(64, 48),
            nonprivate=True,
            batch_size=2,
            physical_batch_size=2,
            max_steps=2,
            epochs=1,
            eval_batch_size=2,
            augment=True,
        )
    )
    result = run(cfg)
    assert result["steps"] == 2 and np.isfinite(result["pckh@0.5"])
