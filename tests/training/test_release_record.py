"""The release record (issue 47.5-6): kept in every checkpoint as well as in private/, a key
without it refuses to start, each start draws a fresh nonce (copies never share noise), one
process at a time holds a MODEL_DIR, and discarded steps are charged at the (q, sigma) they
were released with."""

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
import tensorflow as tf

from tfpose_dp.privacy import accounting
from tfpose_dp.runs import checkpoints
from tfpose_dp.runs.dir_lock import lock_model_dir
from tfpose_dp.runs.layout import key_path
from tfpose_dp.training import trainer
from tfpose_dp.training.release_record import ReleaseRecord, ReleaseRecordError, read_saved
from tfpose_dp.training.run_key import persist_key, run_key


def _record(model_dir, released, generation=0, q=0.1, sigma=2.0):
    return {"generation": generation, "released": released, "segments": [[q, sigma, released]]}


def _write(model_dir, record):
    os.makedirs(os.path.join(model_dir, "private"), exist_ok=True)
    with open(os.path.join(model_dir, "private", "releases.json"), "w") as f:
        json.dump(record, f)


def test_a_key_without_its_record_refuses_to_start_and_says_how_to_recover(tmp_path):
    with pytest.raises(ReleaseRecordError, match="Restore the file.*new --model_dir"):
        ReleaseRecord.at_start(str(tmp_path), 3, None, key_exists=True)


def test_a_start_takes_the_larger_of_the_file_and_the_checkpoint(tmp_path):
    """An edited (lowered) file cannot reset the count the checkpoint holds, and the other way
    round; the discarded steps are the tail of the longer history."""
    _write(str(tmp_path), _record(tmp_path, 4))  # edited down from 9
    start = ReleaseRecord.at_start(str(tmp_path), 4, _record(tmp_path, 9, generation=1), True)
    assert (start.released, start.discarded, start.generation) == (9, 5, 2)
    assert start.discarded_segments == [[0.1, 2.0, 5]]
    _write(str(tmp_path), _record(tmp_path, 12, generation=3))
    start = ReleaseRecord.at_start(str(tmp_path), 9, _record(tmp_path, 9), True)
    assert (start.released, start.discarded, start.generation) == (12, 3, 4)


def test_each_start_draws_a_fresh_nonce_and_the_file_is_owner_only(tmp_path):
    first = ReleaseRecord.at_start(str(tmp_path), 0)
    first.count_release(0.1, 2.0)
    second = ReleaseRecord.at_start(str(tmp_path), 1, None, True)
    assert first.nonce != second.nonce and len(second.nonce) == 16
    assert read_saved(str(tmp_path))["nonce"] == first.nonce.hex()
    mode = os.stat(os.path.join(tmp_path, "private", "releases.json")).st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_two_copies_of_a_model_dir_never_share_noise(tmp_path):
    """A copied MODEL_DIR (same key, same record) started beside the original: each start
    draws its own nonce, so their noise and sampling streams differ (they were equal before)."""
    original, fork = str(tmp_path / "run"), str(tmp_path / "fork")
    strategy = tf.distribute.get_strategy()
    key, record, _ = run_key(original, 0, False, strategy, chief=True)
    persist_key(original, key, record, chief=True)
    shutil.copytree(original, fork)
    starts = [run_key(d, 0, False, strategy, chief=True)[0] for d in (original, fork, original)]
    assert len({s.fingerprint() for s in starts}) == 1  # one key
    assert len({tuple(s.noise_key()) for s in starts}) == 3
    assert len({tuple(s.sampling_entropy()) for s in starts}) == 3


def test_a_second_process_is_refused_the_model_dir(tmp_path):
    assert os.listdir(tmp_path) == []
    lock_model_dir(str(tmp_path))
    assert os.listdir(tmp_path) == []  # the lock writes no file
    lock_model_dir(str(tmp_path))  # the same process again: fine
    script = (
        "import sys\nfrom tfpose_dp.runs.dir_lock import ModelDirBusy, lock_model_dir\n"
        "try:\n    lock_model_dir(sys.argv[1])\nexcept ModelDirBusy as e:\n"
        "    print(e)\n    sys.exit(3)\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True
    )
    assert other.returncode == 3, other.stderr
    assert "another process is training" in other.stdout
    lock_model_dir(str(tmp_path / "not yet there"))  # nothing to lock, nothing created
    assert not os.path.exists(tmp_path / "not yet there")


@pytest.mark.slow  # trains
def test_discarded_steps_are_charged_at_the_rate_they_were_released_with(run_config, tmp_path):
    """Steps released at eps 8, lost before a checkpoint, then a restart at eps 1: the restart
    is charged for them at eps 8's sigma (it reported ~1 before), and trains no further."""
    model_dir = str(tmp_path / "run")
    trainer.run(run_config(model_dir, epsilon=8.0, epochs=20, max_steps=5))
    _every_private_file_is_owner_only(model_dir)
    released = read_saved(model_dir)
    shutil.rmtree(checkpoints.checkpoint_root(model_dir))  # as if it died before a checkpoint
    final = trainer.run(run_config(model_dir, epsilon=1.0, epochs=20, max_steps=0))
    lost = accounting.epsilon_spent(released["segments"], final["delta"], "pld", 1.0)
    assert lost > 1.0  # the eps 8 steps alone spend more than the new target
    assert final["epsilon"] >= lost * (1 - 1e-6)
    assert final["steps"] == 0
    assert os.path.exists(key_path(model_dir))


def _every_private_file_is_owner_only(model_dir):
    """Issue 47.7: the key, the record, the logs, the load report and the image checks."""
    private = os.path.join(model_dir, "private")
    names = set()
    for root, _, files in os.walk(private):
        for name in files:
            names.add(name)
            assert stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode) == 0o600, name
    assert {"dp_key", "releases.json", "progress.log", "data_report.json"} <= names
    assert "image_checks.json" in names
    assert not os.path.exists(os.path.join(os.environ["TFPOSE_DP_CACHE"], "image_checks"))
