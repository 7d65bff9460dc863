"""tf.data pipelines: Poisson-sampled training chunks and sequential evaluation batches.

Every element is one person crop with its SimCC targets:
  image (H, W, 3) normalised float32; target_x (K, Wx); target_y (K, Hy); target_weight (K,);
  mask () 1 for a real example, 0 for padding; index () record index (-1 for padding);
  group () in training chunks: the slot of the first person of its image (-1 for padding);
  crop_to_image (3, 3); joints (K, 2) and visible (K,) original 0-based; head_size ().
Augmentation randomness is stateless, seeded by (seed, step, the record's identity): a run is
reproducible, a resumed run sees the same crops it would have seen, and a record's crop never
depends on which other records the data set holds (see `augmentation_keys`).
"""

import hashlib

import numpy as np
import tensorflow as tf

from tfpose_dp.data import augmentation, transforms
from tfpose_dp.data.decode import decode_image


def _image_reader(records):
    """fn(record index) -> encoded image bytes, from files or from the records' image source."""
    if records.image_source is None:
        paths = tf.constant(records.image_paths)
        return lambda i: tf.io.read_file(paths[i])
    positions = tf.constant(records.source_index, tf.int64)
    source = records.image_source
    return lambda i: tf.ensure_shape(
        tf.numpy_function(lambda j: source[j], [positions[i]], tf.string, stateful=False), []
    )


def augmentation_keys(records):
    """(N,) int64: a key per record from its identity (image name, centre), never its position
    in the data set. Adding or removing one image then changes no other record's augmentation:
    each crop is a function of its own record, the step and the public seed, so a DP step's
    sum still moves by at most C (the clip) when one image comes or goes."""
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(repr(tuple(i)).encode(), digest_size=8).digest(), "big")
            >> 1
            for i in records.ids
        ],
        dtype=np.int64,
    )


def make_example_fn(records, input_size, codec, augment=None, seed=0):
    """Returns fn(index, step) -> example dict; index -1 yields the constant padding example."""
    read_image = _image_reader(records)
    skeleton = codec.skeleton
    if records.joints.shape[1] != skeleton.num_joints:
        raise ValueError(
            f"the data hold {records.joints.shape[1]} joints per person, the model predicts "
            f"{skeleton.num_joints} ({skeleton.name}): set --keypoints to the data's keypoint "
            "set (mpii16 for MPII files, coco17 for COCO keypoints files)"
        )
    centers, sizes = (tf.constant(a) for a in transforms.record_crops(records))
    joints, visible = tf.constant(records.joints), tf.constant(records.visible)
    head_sizes = tf.constant(records.head_sizes)
    perm = tf.constant(skeleton.flip_permutation(), tf.int32)
    upper_body = tf.constant([j in skeleton.upper_body for j in range(skeleton.num_joints)])
    keys = tf.constant(augmentation_keys(records)) if augment is not None else None
    height, width = input_size
    photometric = (
        augmentation.Photometric(augment) if augment is not None and augment.photometric else None
    )

    def real_example(i, step):
        image = decode_image(read_image(i))
        center = centers[i]
        box = transforms.fit_aspect(sizes[i][0], sizes[i][1], input_size)
        rotation, flip = tf.constant(0.0), tf.constant(False)
        if augment is not None:
            u = augmentation.draw(seed, step, keys[i])
            center, box, rotation, flip = augmentation.geometry(
                augment, u, center, box, joints[i], visible[i], input_size, upper_body
            )
        m = transforms.crop_to_image_matrix(center, box, input_size, rotation, flip)
        crop = transforms.warp_image(image, m, input_size)
        if photometric is not None:
            crop = photometric(crop, u)
        crop_joints = transforms.transform_points(joints[i], tf.linalg.inv(m))
        vis = visible[i]
        crop_joints = tf.where(flip, tf.gather(crop_joints, perm), crop_joints)
        vis = tf.where(flip, tf.gather(vis, perm), vis)
        target_x, target_y, weight = codec.encode(crop_joints, vis)
        return {
            "image": tf.ensure_shape(crop, [height, width, 3]),
            "target_x": target_x,
            "target_y": target_y,
            "target_weight": weight,
            "mask": tf.constant(1.0),
            "crop_to_image": m,
            "joints": joints[i],
            "visible": visible[i],
            "head_size": head_sizes[i],
        }

    def padding():
        """A constant all-zero example: reads no record, so no record reaches a padding slot
        (a padding slot's gradient is masked, but a NaN one would survive 0 * NaN)."""
        k = skeleton.num_joints
        return {
            "image": tf.zeros([height, width, 3]),
            "target_x": tf.zeros([k, codec.bins_x]),
            "target_y": tf.zeros([k, codec.bins_y]),
            "target_weight": tf.zeros([k]),
            "mask": tf.constant(0.0),
            "crop_to_image": tf.eye(3),
            "joints": tf.zeros([k, 2]),
            "visible": tf.zeros([k]),
            "head_size": tf.constant(0.0),
        }

    def example(index, step):
        index = tf.cast(index, tf.int64)
        out = tf.cond(index >= 0, lambda: real_example(index, step), padding)
        return {**out, "index": index}

    return example


def training_dataset(
    records,
    sampler,
    input_size,
    codec,
    start_step,
    augment,
    seed,
    slice_size=None,
    replica_ids=(0,),
):
    """Chunks of `sampler` from `start_step` on, forever.

    The trainer reads `len(sampler.chunks(step))` chunks per logical step, in order. Each chunk
    of `physical_batch_size` slots is cut into slices of `slice_size` (one per replica; default
    the whole chunk); this pipeline yields, per chunk, the slices of `replica_ids` in order, each
    as a (slice_size, ...) batch. Every drawn example sits in exactly one slot, so it is
    processed by exactly one replica.
    """
    slice_size = slice_size or sampler.physical_batch_size
    if slice_size * sampler.replicas != sampler.physical_batch_size:  # groups are slice-local
        raise ValueError(
            f"slices of {slice_size} do not match the sampler's {sampler.replicas} replica(s) "
            f"of a {sampler.physical_batch_size}-slot chunk"
        )

    def index_stream():
        step = start_step
        while True:
            for chunk, groups in zip(*sampler.layout(step)):
                for r in replica_ids:
                    part = slice(r * slice_size, (r + 1) * slice_size)
                    for index, group in zip(chunk[part], groups[part]):
                        yield index, step, group
            step += 1

    scalar = tf.TensorSpec([], tf.int64)
    ds = tf.data.Dataset.from_generator(index_stream, output_signature=(scalar,) * 3)
    fn = make_example_fn(records, input_size, codec, augment, seed)

    def example(index, step, group):  # group: the slot of the image's first person (clipping)
        return {**fn(index, step), "group": tf.cast(group, tf.int32)}

    ds = ds.map(example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(slice_size, drop_remainder=True).prefetch(2)


def eval_dataset(records, input_size, codec, batch_size):
    """All records once, in order, in fixed-size batches padded with masked examples."""
    n = len(records)
    padded = -(-n // batch_size) * batch_size
    indices = np.full(padded, -1, np.int64)
    indices[:n] = np.arange(n)
    ds = tf.data.Dataset.from_tensor_slices((indices, np.zeros(padded, np.int64)))
    ds = ds.map(
        make_example_fn(records, input_size, codec),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return ds.batch(batch_size, drop_remainder=True).prefetch(2)
