"""Validation scores both protocols from one model call per batch: its single-pass and
flip-tested predictions equal those of a pass of each."""

import gc
import weakref

import numpy as np

from tfpose_dp import presets
from tfpose_dp.data.annotations import load_split
from tfpose_dp.data.pipeline import eval_dataset
from tfpose_dp.eval import predictions
from tfpose_dp.eval.predictions import predict_dataset, predict_dataset_both_ways
from tfpose_dp.runs.restore import load_trained_model


def test_both_ways_equal_a_single_pass_and_a_flip_test(synthetic_dir):
    model, codec, manifest = load_trained_model(presets.resolve("preset:public_micro"))
    dataset = eval_dataset(
        load_split(synthetic_dir, "valid"), manifest.config.model.input_size, codec, 16
    )
    both = predict_dataset_both_ways(model, dataset, codec)
    for flip, result in zip((False, True), both):
        alone = predict_dataset(model, dataset, codec, flip_test=flip)
        assert result.keys() == alone.keys() and len(result["pred"]) == 24
        for key in result:
            np.testing.assert_allclose(result[key], alone[key], atol=1e-4)
    assert np.abs(both[0]["pred"] - both[1]["pred"]).max() > 0  # the flip test does change them


def test_a_models_compiled_forwards_are_reused_and_do_not_keep_it_alive(synthetic_dir):
    """Every validation of a run reuses one trace, and a model nothing else holds is freed
    with its traces (a run per test in one process must not keep every model)."""
    model, codec, manifest = load_trained_model(presets.resolve("preset:public_micro"))
    dataset = eval_dataset(
        load_split(synthetic_dir, "valid"), manifest.config.model.input_size, codec, 16
    )
    predict_dataset_both_ways(model, dataset, codec)
    forward = predictions._forward(model, codec, "both")
    predict_dataset_both_ways(model, dataset, codec)
    assert predictions._forward(model, codec, "both") is forward
    assert forward.experimental_get_tracing_count() == 1
    alive = weakref.ref(model)
    del model, forward
    gc.collect()
    assert alive() is None
