"""COCO keypoint AP (OKS) on ground-truth boxes, against pycocotools on the real file."""

import contextlib
import io
import json
import os

import numpy as np
import pytest

from tfpose_dp.data.coco_keypoints import load_coco_records
from tfpose_dp.eval.oks_ap import ap_table
from tfpose_dp.skeleton import COCO17


def _records(coco_sample):
    return load_coco_records(os.path.join(coco_sample, "test_coco.json"), coco_sample)


def test_ground_truth_against_itself_scores_100(coco_sample):
    records = _records(coco_sample)
    n = len(records)
    table = ap_table(records, records.joints, np.ones((n, 17)), np.arange(n), COCO17)
    assert table["AP"] == pytest.approx(100.0) and table["AR"] == pytest.approx(100.0)
    assert table["AP50"] == pytest.approx(100.0)


def test_a_perturbed_copy_scores_as_pycocotools_scores_the_file(coco_sample):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    records = _records(coco_sample)
    n = len(records)
    rng = np.random.default_rng(0)
    scale = np.sqrt(records.areas)[:, None, None]
    pred = records.joints + rng.normal(0, 0.06, records.joints.shape) * scale
    scores = rng.uniform(0.2, 1.0, (n, 17))
    ours = ap_table(records, pred, scores, np.arange(n), COCO17)

    path = os.path.join(coco_sample, "test_coco.json")
    with open(path) as f:
        labelled = [a for a in json.load(f)["annotations"] if a["num_keypoints"] > 0]
    results = [
        {
            "image_id": ann["image_id"],
            "category_id": 1,
            "keypoints": np.column_stack([p, np.ones(17)]).ravel().tolist(),
            "score": float(np.mean(s)),
        }
        for ann, p, s in zip(labelled, pred, scores)
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(path)
        evaluator = COCOeval(gt, gt.loadRes(results), "keypoints")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    reference = 100.0 * np.asarray(evaluator.stats)
    assert 20.0 < ours["AP"] < 95.0  # the perturbation moves the score: not a trivial check
    np.testing.assert_allclose(list(ours.values()), reference, atol=1e-9)
