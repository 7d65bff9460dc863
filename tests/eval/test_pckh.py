import numpy as np
import pytest

from tfpose_dp.eval.pckh import format_table, pckh_table

N = 4


def _gt():
    rng = np.random.default_rng(0)
    return rng.integers(0, 200, (N, 16, 2)).astype(float), np.ones((N, 16)), np.full(N, 20.0)


def test_perfect_predictions_score_100():
    gt, vis, head = _gt()
    table = pckh_table(gt, gt, vis, head)
    assert all(v == pytest.approx(100.0) for v in table.values())


def test_predictions_beyond_head_size_score_0():
    gt, vis, head = _gt()
    table = pckh_table(gt + 25.0, gt, vis, head)  # error 35 px > 0.5 * 20
    assert all(v == 0.0 for v in table.values())


def test_known_mixture_and_threshold_boundary():
    gt, vis, head = _gt()
    pred = gt.copy()
    pred[:, 0, 0] += 10.0  # r_ankle exactly at 0.5 * head size: counts (<=)
    pred[:, 5, 0] += 10.01  # l_ankle just beyond
    pred[:, 15, 0] += 3.0  # l_wrist within 0.5 but beyond 0.1 (2 px)
    table = pckh_table(pred, gt, vis, head)
    assert table["Ankle"] == pytest.approx(50.0)
    assert table["Wrist"] == pytest.approx(100.0)
    assert table["Mean"] == pytest.approx(100.0 * 13 / 14)  # 14 joints counted, l_ankle wrong
    assert table["Mean@0.1"] == pytest.approx(100.0 * 11 / 14)


def test_only_annotated_joints_count_and_pelvis_thorax_are_excluded():
    gt, vis, head = _gt()
    pred = gt.copy()
    pred[:, 6] += 100.0  # pelvis wrong: excluded from the mean
    pred[:, 7] += 100.0  # thorax wrong: excluded
    pred[:2, 9] += 100.0  # head top wrong but not annotated for these two persons
    vis[:2, 9] = 0
    table = pckh_table(pred, gt, vis, head)
    assert table["Mean"] == pytest.approx(100.0)
    assert table["Head"] == pytest.approx(100.0)
    assert "Mean@0.1" in format_table(table)


def test_head_is_the_head_top_and_pairs_average_left_and_right():
    gt, vis, head = _gt()
    pred = gt.copy()
    pred[:, 8] += 100.0  # upper neck wrong: no column of its own, but it counts in the mean
    pred[0, 12] += 100.0  # one right shoulder of 4 wrong
    vis[1:, 13] = 0  # left shoulder annotated once (and right)
    table = pckh_table(pred, gt, vis, head, per_joint=True)
    assert table["Head"] == pytest.approx(100.0)
    assert table["Shoulder"] == pytest.approx(0.5 * (75.0 + 100.0))  # pooled would be 80
    assert table["per_joint"]["neck"] == 0.0 and table["per_joint"]["rsho"] == pytest.approx(75.0)
    assert table["Mean"] == pytest.approx(100.0 * (4 * 14 - 3 - 4 - 1) / (4 * 14 - 3))
    assert "lwri" in format_table(table)
