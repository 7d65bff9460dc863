"""COCO keypoint AP: OKS-based AP / AP50 / AP75 / AR on ground-truth person boxes.

The protocol mmpose reports as "AP with GT bbox": one prediction per annotated person, its
score the mean of its joint scores (the box score of a ground-truth box is 1), scored by
pycocotools' COCOeval (the reference implementation) with the skeleton's OKS sigmas. OKS
uses each person's annotated area as its scale; persons with no labelled joint are ignored
there, as in COCO.
"""

import contextlib
import io

import numpy as np

AP_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def coco_ground_truth(records):
    """The records as a COCO keypoints dict (one image per image name, one annotation each)."""
    image_ids = {name: i + 1 for i, name in enumerate(dict.fromkeys(records.image_names()))}
    annotations = []
    for k in range(len(records)):
        v = np.where(records.visible[k] > 0, 2, 0)
        xyv = np.column_stack([np.where(v[:, None] > 0, records.joints[k], 0.0), v])
        annotations.append(
            {
                "id": k + 1,
                "image_id": image_ids[records.image_names()[k]],
                "category_id": 1,
                "iscrowd": 0,
                "num_keypoints": int((v > 0).sum()),
                "keypoints": xyv.ravel().tolist(),
                "bbox": [float(b) for b in records.boxes[k]],
                "area": float(records.areas[k]),
            }
        )
    return {
        "images": [{"id": i} for i in image_ids.values()],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person"}],
    }


def coco_predictions(ground_truth, pred, scores, indices):
    """COCO result entries: record `indices[n]`'s prediction `pred[n]` (K, 2), `scores[n]`."""
    annotations = ground_truth["annotations"]
    out = []
    for p, s, k in zip(pred, scores, indices):
        xyv = np.column_stack([p, np.ones(len(p))])
        out.append(
            {
                "image_id": annotations[int(k)]["image_id"],
                "category_id": 1,
                "keypoints": xyv.ravel().tolist(),
                "score": float(np.mean(s)),
            }
        )
    return out


def oks_ap(ground_truth, predictions, sigmas):
    """{AP, AP50, ..., ARl} in percent of `predictions` against `ground_truth` (COCO dicts)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints as it goes
        gt = COCO()
        gt.dataset = ground_truth
        gt.createIndex()
        dt = gt.loadRes(predictions) if predictions else COCO()
        evaluator = COCOeval(gt, dt, "keypoints")
        evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, np.float64)
        evaluator.params.useSegm = None
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: 100.0 * float(v) for name, v in zip(AP_NAMES, evaluator.stats)}


def ap_table(records, pred, scores, indices, skeleton):
    """OKS AP of predictions for `records` (rows `indices`), with `skeleton`'s sigmas."""
    truth = coco_ground_truth(records)
    return oks_ap(truth, coco_predictions(truth, pred, scores, indices), skeleton.oks_sigmas)
