"""The validation score of a data set's format: MPII's PCKh, or COCO's keypoint AP (OKS).

Records with person boxes and areas (COCO keypoints files) are scored with OKS AP on their
ground-truth boxes; MPII records with PCKh. The first entry of a score dict is its headline
(what the run reports beside the public-only baseline).
"""

import numpy as np

from tfpose_dp.eval.oks_ap import ap_table
from tfpose_dp.eval.pckh import pckh_table

LABELS = {"pckh@0.5": "PCKh@0.5", "pckh@0.1": "PCKh@0.1"}
FLIP_SUFFIX = "_flip"  # the same score of the flip test (the average with the mirrored image)


def uses_oks(records):
    return records.boxes is not None and records.areas is not None


def score_predictions(records, predictions, skeleton):
    """{metric: %} of `predictions` (eval/predictions.py predict_dataset) of `records`."""
    index = predictions["index"]
    if uses_oks(records):
        table = ap_table(records, predictions["pred"], predictions["scores"], index, skeleton)
        return {k: table[k] for k in ("AP", "AP50", "AP75", "AR")}
    table = pckh_table(
        predictions["pred"],
        records.joints[index],
        records.visible[index],
        records.head_sizes[index],
    )
    return {"pckh@0.5": table["Mean"], "pckh@0.1": table["Mean@0.1"]}


def headline(scores):
    """(name, value) of a score dict's headline metric."""
    name = next(iter(scores))
    return name, scores[name]


def label(name):
    if name.endswith(FLIP_SUFFIX):
        return f"{label(name[: -len(FLIP_SUFFIX)])} flip-tested"
    return LABELS.get(name, name)


def format_scores(scores):
    """'PCKh@0.5 55.01, PCKh@0.1 5.83' or 'AP 40.12, AP50 ...'."""
    return ", ".join(f"{label(k)} {v:.2f}" for k, v in scores.items())


def mean_pose_scores(records, predictions_of_mean_pose, skeleton):
    """The score of a prediction that ignores the image (a mean pose in every crop)."""
    n = len(records)
    result = {
        "pred": predictions_of_mean_pose,
        "scores": np.ones(predictions_of_mean_pose.shape[:2]),
        "index": np.arange(n),
    }
    return score_predictions(records, result, skeleton)
