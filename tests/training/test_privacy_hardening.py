"""The guarantee against someone who has the code, the flags and the seed (in-process runs)."""

import base64
import json
import os
import random
import shutil
import signal
import stat
import threading

import numpy as np
import pytest
import tensorflow as tf

from tfpose_dp.run_config import ConfigError
from tfpose_dp.runs import checkpoints as checkpointing
from tfpose_dp.training import trainer
from tfpose_dp.training.stop_request import Interrupted, StopRequest

pytestmark = pytest.mark.slow  # end-to-end: trains or exports real models


def _weights(model_dir):
    reader = tf.train.load_checkpoint(
        os.path.join(checkpointing.latest_checkpoint(str(model_dir)), "ckpt")
    )
    names = sorted(n for n in reader.get_variable_to_shape_map() if n.startswith("model/"))
    return [reader.get_tensor(n) for n in names]


def _counters(model_dir):
    ckpt = checkpointing.latest_checkpoint(str(model_dir))
    state = checkpointing.read_state(ckpt)
    reader = tf.train.load_checkpoint(os.path.join(ckpt, "ckpt"))
    iterations = int(reader.get_tensor("optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE"))
    ledger = sum(s[2] for s in json.loads(state["ledger"])["segments"])
    return state["step"], iterations, ledger


@pytest.fixture(scope="module")
def runs(tmp_path_factory, run_config):
    """Two runs with identical flags and seed, two more with --reproducible_noise (1 step each)."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for name, reproducible in (("a", False), ("b", False), ("c", True), ("d", True)):
        final = trainer.run(run_config(root / name, reproducible_noise=reproducible))
        out[name] = (root / name, final, _weights(root / name))
    return out


def test_same_flags_and_seed_give_fresh_noise_and_reproducible_noise_repeats(runs):
    assert any(not np.array_equal(x, y) for x, y in zip(runs["a"][2], runs["b"][2]))
    assert all(np.array_equal(x, y) for x, y in zip(runs["c"][2], runs["d"][2]))
    for name in "ab":
        assert runs[name][1]["dp_guarantee"] and "secret" in runs[name][1]["noise_source"]
    for name in "cd":
        model_dir, final, _ = runs[name]
        assert not final["dp_guarantee"] and "public seed" in final["noise_source"]
        assert "NO DP GUARANTEE" in final["privacy_statement"]
        assert not os.path.exists(model_dir / "private" / "dp_key")


def _all_bytes_under(folder, skip):
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if path != skip:
                with open(path, "rb") as f:
                    yield path, f.read()


def test_key_is_owner_only_and_appears_nowhere_else(runs, tmp_path):
    from tfpose_dp.export import formats, provenance
    from tfpose_dp.runs.restore import load_trained_model

    model_dir = runs["a"][0]
    key_file = str(model_dir / "private" / "dp_key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(model_dir / "private").st_mode) == 0o700
    secret = bytes.fromhex(open(key_file).read().strip())
    export = tmp_path / "export"
    model, codec, _ = load_trained_model(str(model_dir))
    record = provenance.privacy_record(
        checkpointing.read_state(checkpointing.latest_checkpoint(str(model_dir)))
    )
    formats.write_saved_model(model, codec, str(export / "sm"), record)
    (export / "pose.tflite").write_bytes(formats.tflite_bytes(model, codec, "none", record=record))
    forms = [secret, secret.hex().encode(), secret.hex().upper().encode(), base64.b64encode(secret)]
    for folder in (model_dir, export):
        for path, content in _all_bytes_under(str(folder), key_file):
            assert not any(f in content for f in forms), f"the DP key leaked into {path}"
    assert record["dp_guarantee"] and record["method"] == "dpsgd" and record["steps"] == 1


def test_resume_refuses_a_changed_delta_and_other_mechanism_settings(runs, run_config, tmp_path):
    model_dir = tmp_path / "run"
    shutil.copytree(runs["a"][0], model_dir)
    delta = runs["a"][1]["delta"]
    for change, flag in (
        ({"delta": delta / 2}, "--delta"),
        ({"l2_norm_clip": 2.0}, "--l2_norm_clip"),
        ({"optimizer": "adam"}, "--optimizer"),
        ({"epsilon": 3.0}, "--epsilon"),
        ({"reproducible_noise": True}, "--reproducible_noise"),
    ):
        with pytest.raises(ConfigError, match=f"holds a run with {flag}="):
            trainer.run(run_config(model_dir, max_steps=2, **change))
    assert _counters(model_dir) == (1, 1, 1)  # nothing was written


def test_an_inconsistent_checkpoint_is_refused(runs, run_config, tmp_path):
    model_dir = tmp_path / "run"
    shutil.copytree(runs["a"][0], model_dir)
    ckpt = checkpointing.latest_checkpoint(str(model_dir))
    state = checkpointing.read_state(ckpt)
    state["step"] = 0  # as if the step had been applied but not counted
    with open(os.path.join(ckpt, "state.json"), "w") as f:
        json.dump(state, f)
    with pytest.raises(ConfigError, match="is inconsistent: state step 0, optimizer iterations 1"):
        trainer.run(run_config(model_dir, max_steps=2))


def test_sigterm_at_random_moments_never_splits_a_step(tmp_path, run_config):
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    rng = random.Random()  # random moments on purpose: every run of the suite probes others
    resumed_once = False
    try:
        for attempt in range(3):  # a run takes ~15-25 s here: setup, tracing, 7 steps, eval;
            # a moment after its end probes nothing, so they are drawn within that span
            model_dir = tmp_path / f"run{attempt}"
            stop = StopRequest().install()
            timer = threading.Timer(rng.uniform(0.5, 25.0), os.kill, (os.getpid(), signal.SIGTERM))
            timer.start()
            try:
                trainer.run(run_config(model_dir, max_steps=7), stop)
            except Interrupted as e:
                assert e.signum == signal.SIGTERM
            finally:
                timer.cancel()
                timer.join()
            if checkpointing.latest_checkpoint(str(model_dir)):
                step, iterations, ledger = _counters(model_dir)
                assert step == iterations == ledger, (attempt, step, iterations, ledger)
                if step < 7 and not resumed_once:  # an interrupted run resumes to the end
                    resumed = trainer.run(run_config(model_dir, max_steps=7))
                    assert resumed["steps"] == 7 and _counters(model_dir) == (7, 7, 7)
                    resumed_once = True
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_resume_without_the_key_file_is_a_clear_error(runs, run_config, tmp_path):
    from tfpose_dp.privacy.dp_key import DPKeyError

    model_dir = tmp_path / "run"
    shutil.copytree(runs["a"][0], model_dir)
    os.remove(model_dir / "private" / "dp_key")
    with pytest.raises(DPKeyError, match="is missing"):
        trainer.run(run_config(model_dir, max_steps=2))


def test_a_ghost_clipping_run_takes_the_same_step_as_the_exact_path(runs, run_config, tmp_path):
    """--clipping=ghost with the same (reproducible) noise and batches: the same weights."""
    trainer.run(run_config(tmp_path / "ghost", reproducible_noise=True, clipping="ghost"))
    exact, ghost = runs["c"][2], _weights(tmp_path / "ghost")
    assert max(float(np.abs(a - b).max()) for a, b in zip(exact, ghost)) < 1e-5
    # ... a tolerance far below what another noise draw changes in the same step
    assert max(float(np.abs(a - b).max()) for a, b in zip(exact, runs["a"][2])) > 1e-3
