"""Two MultiWorkerMirroredStrategy workers on 127.0.0.1 train; the chief's checkpoint resumes
on one."""

import json
import os
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # end-to-end: trains or exports real models

ARGS = [
    "--model=tiny_vit_micro",
    "--input_size=64,48",
    "--norm=group",
    "--synthetic_train=64",
    "--synthetic_val=16",
    "--batch_size=8",
    "--physical_batch_size=8",
    "--epochs=1",
    "--epsilon=8",
    "--noaugment",
    "--log_every=1",
]


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _train(model_dir, synthetic_root, max_steps, env=None):
    cmd = [
        sys.executable,
        "-m",
        "tfpose_dp.train",
        *ARGS,
        f"--model_dir={model_dir}",
        f"--synthetic_root={synthetic_root}",
        f"--max_steps={max_steps}",
        "--noprint_plan",
    ]
    if env is not None:
        cmd.append("--strategy=multi_worker")
    return subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _state(model_dir):
    root = os.path.join(model_dir, "checkpoints")
    with open(os.path.join(root, "latest")) as f:
        with open(os.path.join(root, f.read().strip(), "state.json")) as g:
            return json.load(g)


def test_two_workers_train_and_the_chief_checkpoint_resumes_on_one(tmp_path):
    model_dir, synthetic = str(tmp_path / "run"), str(tmp_path / "synthetic")
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    workers = [
        _train(
            model_dir,
            synthetic,
            3,
            {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})},
        )
        for i in range(2)
    ]
    logs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    assert "2 replica(s)" in logs[0] and "not the chief: writes nothing" in logs[1]
    # Both workers took the same all-reduced steps and saw the same (global) diagnostics.
    lines = [[ln.split("] ", 1)[1] for ln in log.splitlines() if "step 3/3" in ln] for log in logs]
    assert lines[0] and lines[0][0].split(" | ")[:3] == lines[1][0].split(" | ")[:3]
    two_workers = _state(model_dir)
    assert two_workers["step"] == 3
    assert sorted(os.listdir(model_dir)).count("final_metrics.json") == 1

    single = _train(model_dir, synthetic, 5)
    log = single.communicate(timeout=600)[0]
    assert single.returncode == 0, log[-3000:]
    assert "Resuming from" in log and "at step 3" in log
    resumed = _state(model_dir)
    assert resumed["step"] == 5
    ledger_before, ledger_after = json.loads(two_workers["ledger"]), json.loads(resumed["ledger"])
    assert ledger_after["segments"][0][:2] == ledger_before["segments"][0][:2]  # same q, sigma
    assert sum(s[2] for s in ledger_after["segments"]) == 5
