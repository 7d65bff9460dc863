"""Runs a pose model over an evaluation dataset and scores it with PCKh."""

import weakref

import numpy as np
import tensorflow as tf

from tfpose_dp.data import transforms
from tfpose_dp.eval.flip_test import simcc_logits, single_and_flip_test_logits
from tfpose_dp.eval.pckh import pckh_table


def crop_to_original(keypoints, crop_to_image):
    """Maps (N, K, 2) crop-pixel keypoints to original image pixels with (N, 3, 3) matrices."""
    m = tf.convert_to_tensor(crop_to_image, tf.float32)
    return tf.einsum("nij,nkj->nki", m[:, :2, :2], keypoints) + m[:, None, :2, 2]


# model -> {(codec, protocol): its compiled forward}: a run's validations share one trace.
# The forward refers to its model weakly, else the entry would keep its own key alive.
_FORWARDS = weakref.WeakKeyDictionary()


def _forward(model, codec, protocol):
    """The compiled images -> [(keypoints, scores)] of `protocol`: True/False (flip test or
    not) or "both" (single pass, then flip-tested)."""
    compiled = _FORWARDS.setdefault(model, {})
    key = (id(codec), protocol)
    if key not in compiled:
        model_ref = weakref.ref(model)

        def forward(images):
            m = model_ref()
            if protocol == "both":
                return [codec.decode(*x) for x in single_and_flip_test_logits(m, images, codec)]
            return [codec.decode(*simcc_logits(m, images, codec, protocol))]

        compiled[key] = (codec, tf.function(forward))  # the codec kept: its id stays its own
    return compiled[key][1]


def predict_dataset(model, dataset, codec, flip_test=False):
    """Returns dict of numpy arrays over the real (unmasked) examples, in dataset order."""
    return _predict(_forward(model, codec, bool(flip_test)), dataset)[0]


def predict_dataset_both_ways(model, dataset, codec):
    """(single-pass, flip-tested) predictions as `predict_dataset`'s, from one model call per
    batch on both views (validation reports both protocols for the cost of the flip test)."""
    return _predict(_forward(model, codec, "both"), dataset)


def _predict(forward, dataset):
    """One row dict per output of `forward` (a list of (keypoints, scores))."""
    tables = None
    for batch in dataset:
        outputs = forward(batch["image"])
        tables = tables or [_empty_rows() for _ in outputs]
        keep = batch["mask"].numpy() > 0
        for rows, (kp, score) in zip(tables, outputs):
            pred = crop_to_original(kp, batch["crop_to_image"])
            for key, value in (
                ("pred", pred),
                ("scores", score),
                ("joints", batch["joints"]),
                ("visible", batch["visible"]),
                ("head_size", batch["head_size"]),
                ("index", batch["index"]),
            ):
                rows[key].append(np.asarray(value)[keep])
    return [{k: np.concatenate(v) for k, v in rows.items()} for rows in tables]


def _empty_rows():
    return {k: [] for k in ("pred", "scores", "joints", "visible", "head_size", "index")}


def evaluate_pckh(model, dataset, codec, flip_test=False, per_joint=False):
    r = predict_dataset(model, dataset, codec, flip_test)
    return pckh_table(r["pred"], r["joints"], r["visible"], r["head_size"], per_joint)


def _crop_matrices(records, input_size):
    def one(args):
        center, size = args
        box = transforms.fit_aspect(size[0], size[1], input_size)
        return transforms.crop_to_image_matrix(center, box, input_size)

    centres, sizes = transforms.record_crops(records)
    return tf.vectorized_map(one, (tf.constant(centres), tf.constant(sizes))).numpy()


def mean_pose_predictions(reference_records, eval_records, input_size):
    """(N, K, 2) image-pixel predictions of the trivial baseline: one mean pose in crop space.

    The per-joint mean of the visible reference joints in their (unaugmented) crops is placed
    in every eval crop and mapped back: what a model that ignores the image would score. The
    trainer uses the validation split itself as reference (an optimistic baseline that needs
    no private statistic).
    """
    m_ref = _crop_matrices(reference_records, input_size)
    inv = np.linalg.inv(m_ref)
    crop = np.einsum("nij,nkj->nki", inv[:, :2, :2], reference_records.joints) + inv[:, None, :2, 2]
    vis = reference_records.visible[..., None]
    mean = (crop * vis).sum(0) / np.maximum(vis.sum(0), 1)
    m_eval = (
        m_ref if eval_records is reference_records else _crop_matrices(eval_records, input_size)
    )
    return np.einsum("nij,kj->nki", m_eval[:, :2, :2], mean) + m_eval[:, None, :2, 2]
