"""A calibrated noise multiplier is kept on disk and read back: the same value, no arithmetic."""

import json
import os

from tfpose_dp.privacy import accounting
from tfpose_dp.training import noise_cache


def test_a_second_calibration_reads_the_first(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_DP_CACHE", str(tmp_path))
    args = (0.01, 100, 2.0, 1e-5, "rdp")
    first = noise_cache.noise_multiplier(*args)
    assert first == accounting.calibrate_noise_multiplier(*args)
    calls = []
    monkeypatch.setattr(accounting, "calibrate_noise_multiplier", lambda *a: calls.append(a))
    assert noise_cache.noise_multiplier(*args) == first and not calls
    other = noise_cache.noise_multiplier(0.02, 100, 2.0, 1e-5, "rdp", write=False)
    assert other is None and len(calls) == 1  # another setting is calibrated (here: the stub)
    with open(tmp_path / noise_cache.FILE) as f:
        assert len(json.load(f)) == 1  # write=False (a dry run) added nothing


def test_a_broken_cache_file_is_calibrated_again(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_DP_CACHE", str(tmp_path))
    (tmp_path / noise_cache.FILE).write_text("{not json")
    sigma = noise_cache.noise_multiplier(0.01, 100, 2.0, 1e-5, "rdp")
    assert sigma == accounting.calibrate_noise_multiplier(0.01, 100, 2.0, 1e-5, "rdp")
    assert os.path.getsize(tmp_path / noise_cache.FILE) > 0
