import json

import numpy as np
import tensorflow as tf

from tfpose_dp.data import transforms
from tfpose_dp.data.annotations import load_records
from tfpose_dp.data.augmentation import AugmentConfig, half_body_box
from tfpose_dp.data.pipeline import eval_dataset, make_example_fn
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.skeleton import MPII16

UPPER_BODY = MPII16.upper_body
UPPER_MASK = tf.constant([j in UPPER_BODY for j in range(16)])

SIZE = (64, 48)


def _sample_records(mpii_sample):
    return load_records(f"{mpii_sample}/test_mpii.json", mpii_sample)


def test_crop_and_inverse_return_joints_within_half_a_pixel(mpii_sample):
    records = _sample_records(mpii_sample)
    for i in range(len(records)):
        center, box = transforms.crop_box(records.centers[i], records.scales[i], SIZE)
        m = transforms.crop_to_image_matrix(center, box, SIZE, rotation_deg=17.0, flip=True)
        crop = transforms.transform_points(records.joints[i], tf.linalg.inv(m))
        back = transforms.transform_points(crop, m)
        assert np.max(np.abs(back.numpy() - records.joints[i])) < 0.5


def test_crop_box_has_the_input_aspect_and_mpii_padding(mpii_sample):
    records = _sample_records(mpii_sample)
    center, box = transforms.crop_box(records.centers[0], records.scales[0], SIZE)
    assert abs(float(box[0] / box[1]) - SIZE[1] / SIZE[0]) < 1e-6
    assert abs(float(box[1]) - records.scales[0] * 200 * 1.25 / (SIZE[1] / SIZE[0])) < 1e-3
    assert abs(float(center[1]) - (records.centers[0][1] + 15 * records.scales[0])) < 1e-4


def test_flipped_crop_carries_swapped_joints_at_mirrored_positions(mpii_sample):
    records = _sample_records(mpii_sample)
    codec = SimCCCodec(SIZE)
    center, box = transforms.crop_box(records.centers[0], records.scales[0], SIZE)
    plain = transforms.crop_to_image_matrix(center, box, SIZE)
    flipped = transforms.crop_to_image_matrix(center, box, SIZE, flip=True)
    j_plain = transforms.transform_points(records.joints[0], tf.linalg.inv(plain)).numpy()
    j_flip = transforms.transform_points(records.joints[0], tf.linalg.inv(flipped)).numpy()
    np.testing.assert_allclose(j_flip[:, 0], SIZE[1] - j_plain[:, 0], atol=1e-3)
    np.testing.assert_allclose(j_flip[:, 1], j_plain[:, 1], atol=1e-3)
    # The image is mirrored the same way.
    image = tf.io.decode_jpeg(tf.io.read_file(records.image_paths[0]))
    a = transforms.warp_image(image, plain, SIZE).numpy()
    b = transforms.warp_image(image, flipped, SIZE).numpy()
    np.testing.assert_allclose(b[:, 1:-1], a[:, ::-1][:, :-2], atol=1.0)
    # And the example function swaps left/right labels.
    del codec


def test_pipeline_graph_mode_equals_eager(mpii_sample):
    records = _sample_records(mpii_sample)
    codec = SimCCCodec(SIZE)
    fn = make_example_fn(records, SIZE, codec, AugmentConfig(), seed=3)
    eager = fn(tf.constant(2, tf.int64), tf.constant(5, tf.int64))
    graph = next(
        iter(
            tf.data.Dataset.from_tensors((tf.constant(2, tf.int64), tf.constant(5, tf.int64))).map(
                fn
            )
        )
    )
    for key in ("image", "target_x", "target_weight", "crop_to_image"):
        np.testing.assert_allclose(eager[key].numpy(), graph[key].numpy(), atol=1e-4)


def test_augmentation_is_deterministic_per_seed_step_and_index(mpii_sample):
    records = _sample_records(mpii_sample)
    fn = make_example_fn(records, SIZE, SimCCCodec(SIZE), AugmentConfig(), seed=1)
    a = fn(tf.constant(1, tf.int64), tf.constant(9, tf.int64))
    b = fn(tf.constant(1, tf.int64), tf.constant(9, tf.int64))
    c = fn(tf.constant(1, tf.int64), tf.constant(10, tf.int64))
    np.testing.assert_array_equal(a["image"].numpy(), b["image"].numpy())
    assert not np.array_equal(a["crop_to_image"].numpy(), c["crop_to_image"].numpy())


def test_flip_permutation_swaps_mpii_pairs():
    perm = MPII16.flip_permutation()
    assert perm[0] == 5 and perm[10] == 15 and perm[6] == 6 and perm[9] == 9


def test_eval_dataset_pads_with_masked_examples(synthetic_dir):
    from tfpose_dp.data.annotations import load_split

    val = load_split(synthetic_dir, "valid")
    batches = list(eval_dataset(val, SIZE, SimCCCodec(SIZE), batch_size=10))
    masks = np.concatenate([b["mask"].numpy() for b in batches])
    assert len(masks) == 30 and masks.sum() == 24
    padded = np.concatenate([b["target_weight"].numpy() for b in batches])[masks == 0]
    assert np.all(padded == 0)


def test_truncated_jpeg_still_decodes(mpii_sample):
    from tfpose_dp.data.decode import decode_image

    raw = open(f"{mpii_sample}/052475643.jpg", "rb").read()
    full = decode_image(tf.constant(raw))
    cut = decode_image(tf.constant(raw[: int(len(raw) * 0.7)]))
    assert cut.shape == full.shape and cut.dtype == tf.uint8


def test_half_body_crop_frames_one_half_of_the_body(mpii_sample):
    records = _sample_records(mpii_sample)
    i = int(np.argmax(records.visible.sum(1)))
    assert records.visible[i].sum() > 8
    for choose_upper, half in (
        (True, UPPER_BODY),
        (False, tuple(set(range(16)) - set(UPPER_BODY))),
    ):
        usable, centre, box = half_body_box(
            tf.constant(records.joints[i]),
            tf.constant(records.visible[i]),
            SIZE,
            tf.constant(choose_upper),
            8,
            UPPER_MASK,
        )
        assert bool(usable)
        _, full_box = transforms.crop_box(records.centers[i], records.scales[i], SIZE)
        assert float(box[1]) < float(full_box[1])
        m = transforms.crop_to_image_matrix(centre, box, SIZE)
        crop = transforms.transform_points(records.joints[i], tf.linalg.inv(m)).numpy()
        chosen = [j for j in half if records.visible[i][j] > 0]
        assert np.all((crop[chosen] >= 0) & (crop[chosen] <= [SIZE[1], SIZE[0]]))


def test_half_body_needs_enough_visible_joints():
    joints = tf.random.uniform([16, 2], 0, 100, seed=1)
    few = tf.constant([1.0] * 5 + [0.0] * 11)
    usable, _, _ = half_body_box(joints, few, SIZE, tf.constant(True), 8, UPPER_MASK)
    assert not bool(usable)


def test_photometric_jitter_changes_colour_only_and_is_deterministic(mpii_sample):
    records = _sample_records(mpii_sample)
    codec = SimCCCodec(SIZE)
    geometric = AugmentConfig(photometric=False)
    coloured = AugmentConfig(photometric=True, photometric_op_prob=1.0)
    a = make_example_fn(records, SIZE, codec, geometric, seed=4)(
        tf.constant(1, tf.int64), tf.constant(2, tf.int64)
    )
    b = make_example_fn(records, SIZE, codec, coloured, seed=4)(
        tf.constant(1, tf.int64), tf.constant(2, tf.int64)
    )
    c = make_example_fn(records, SIZE, codec, coloured, seed=4)(
        tf.constant(1, tf.int64), tf.constant(2, tf.int64)
    )
    np.testing.assert_array_equal(a["target_x"].numpy(), b["target_x"].numpy())
    assert np.abs(a["image"].numpy() - b["image"].numpy()).mean() > 0.01
    np.testing.assert_array_equal(b["image"].numpy(), c["image"].numpy())


def test_half_body_augmentation_runs_in_the_pipeline(mpii_sample):
    records = _sample_records(mpii_sample)
    fn = make_example_fn(records, SIZE, SimCCCodec(SIZE), AugmentConfig(half_body_prob=1.0), seed=0)
    ds = tf.data.Dataset.from_tensor_slices(
        (np.arange(len(records)), np.zeros(len(records), np.int64))
    ).map(fn)
    for ex in ds:
        assert np.isfinite(ex["image"].numpy()).all()


def test_joints_outside_the_image_get_zero_weight_not_an_error(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((100, 80, 3), 128, np.uint8)).save(tmp_path / "a.jpg")
    joints = [[40 + i, 30 + 2 * i] for i in range(16)]
    joints[0] = [5000, 30]  # far outside the image and the crop
    joints[5] = [-900, -900]
    rec = {
        "image": "a.jpg",
        "center": [40, 50],
        "scale": 0.4,
        "joints": joints,
        "joints_vis": [1] * 16,
    }
    (tmp_path / "ann.json").write_text(json.dumps([rec]))
    records = load_records(str(tmp_path / "ann.json"), str(tmp_path))
    ex = make_example_fn(records, SIZE, SimCCCodec(SIZE))(
        tf.constant(0, tf.int64), tf.constant(0, tf.int64)
    )
    weight = ex["target_weight"].numpy()
    assert weight[0] == 0 and weight[5] == 0 and weight[7] == 1
    assert np.isfinite(ex["target_x"].numpy()).all()
