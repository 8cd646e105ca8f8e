"""The scenarios every multi-process engine is tested on, through the real train stage on 127.0.0.1
(tests/training/test_cluster.py: JAX; test_tf_workers.py: TensorFlow's workers): two processes killed mid-way and
resumed against one process on the global batch, and a peer killed mid-training."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np

from imgclf.tools.cluster_demo import weights
from projects import wait_for_epoch

PREVIOUS = "the previous model"


def killed_and_resumed(single, start_pair: Callable, two: Path, after_epoch: int, timeout_s: int) -> list:
    """``start_pair()``'s two processes on ``two`` SIGKILLed once epoch ``after_epoch`` is checkpointed, then
    started again; ``single`` (one process on the global batch) waited for. The resumed pair's (stdout, stderr)."""
    processes = start_pair()
    assert wait_for_epoch(two, after_epoch, processes, timeout_s=timeout_s), "training ended too soon"
    for process in processes:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert single.wait(timeout=timeout_s) == 0, single.stderr.read()[-2000:]
    resumed = start_pair()
    outputs = [p.communicate(timeout=timeout_s) for p in resumed]
    assert [p.returncode for p in resumed] == [0, 0], outputs[0][1][-2000:] + outputs[1][1][-2000:]
    return outputs


def assert_trained_as_one(one: Path, two: Path, outputs: list, backend: str) -> dict:
    """The pair's model is the single process's (within 1e-5), both printed the same metrics, only process 0
    wrote; the pair's train.json."""
    gap = max(float(np.abs(a - b).max()) for a, b in zip(weights(one), weights(two)))
    assert gap < 1e-5
    record = json.loads((two / "data" / "train" / "train.json").read_text())
    assert record["processes"] == 2 and record["global_batch"] == 16 and record["run"]["backend"] == backend
    lines = [out.strip().splitlines()[-1] for out, _ in outputs]
    assert lines[1] == lines[0].replace("train:", "train (process 1 of 2):")  # the same metrics on both
    assert sorted(p.name for p in (two / "data").iterdir()) == ["features", "split", "train"]  # only process 0 wrote
    return record


def with_previous_model(root: Path) -> Path:
    """``root`` with a data/train from an earlier run, which a failed run must leave as it was."""
    (root / "data" / "train").mkdir()
    (root / "data" / "train" / "model.keras").write_text(PREVIOUS)
    return root


def assert_peer_lost(root: Path, processes: list, after_epoch: int, coordinator: str, peer_timeout_s: int) -> None:
    """Process 1 SIGKILLed after epoch ``after_epoch``: process 0 ends with one line naming it and the timeout,
    no traceback, and data/train untouched."""
    assert wait_for_epoch(root, after_epoch, processes, timeout_s=90), "training ended too soon"
    processes[1].send_signal(signal.SIGKILL)
    _, err = processes[0].communicate(timeout=120)  # a guard: the supervisor's own waits are bounded by the timeout
    assert processes[0].returncode == 1, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: train, process 0 of 2 (coordinator {coordinator}): lost process 1"), err
    assert f"train.peer_timeout_s ({peer_timeout_s} s); nothing was written to the stage's outputs" in last
    assert "Traceback" not in err
    assert (root / "data" / "train" / "model.keras").read_text() == PREVIOUS
