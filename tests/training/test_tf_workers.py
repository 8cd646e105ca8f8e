"""Several processes on TensorFlow's workers (training/tf_workers.py), the CPU route: two processes on 127.0.0.1
through the real train stage, an image model with BatchNormalization, against one process on the global batch;
killed and resumed; a killed peer."""

import json
import signal

import numpy as np
import pytest

from imgclf.tools.cluster_demo import free_ports, launch, make_project, weights
from projects import wait_for_epoch

pytestmark = pytest.mark.slow

TF = {"model": "airbench", "backend": "tensorflow", "pictures": 96, "size": 32}  # 16 px: 2x2 in the last group


def pair(root, ports):
    return [launch(root, 2, ports, i, backend="tensorflow") for i in (0, 1)]


def test_two_workers_killed_mid_way_resume_to_the_weights_of_one_process_on_the_global_batch(tmp_path):
    """airbench (a BatchNormalization after every convolution) on two workers, 8 pictures each of every batch of
    16, SIGKILLed after epoch 1 and started again, ends on the weights one process trains on batches of 16.
    BatchNormalization normalizes by the global batch's statistics (synchronized): with each worker's own half
    the two would train another model."""
    one = make_project(tmp_path / "one", epochs=3, batch_size=16, learning_rate=0.02, **TF)
    two = make_project(tmp_path / "two", epochs=3, batch_size=8, learning_rate=0.01, **TF)  # per process
    single = launch(one, 1, 0, backend="tensorflow")
    processes = pair(two, free_ports(2))
    assert wait_for_epoch(two, 1, processes, timeout_s=90), "training ended too soon"
    for process in processes:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert single.wait(timeout=90) == 0, single.stderr.read()[-2000:]
    resumed = pair(two, free_ports(2))
    outputs = [p.communicate(timeout=90) for p in resumed]
    assert [p.returncode for p in resumed] == [0, 0], outputs[0][1][-2000:] + outputs[1][1][-2000:]
    assert "resuming models.airbench after epoch 1" in outputs[0][0]
    gap = max(float(np.abs(a - b).max()) for a, b in zip(weights(one), weights(two)))
    assert gap < 1e-5
    record = json.loads((two / "data" / "train" / "train.json").read_text())
    assert record["distribution"] == "tf.distribute.MultiWorkerMirroredStrategy over 2 processes"
    assert record["processes"] == 2 and record["global_batch"] == 16 and record["run"]["backend"] == "tensorflow"
    lines = [out.strip().splitlines()[-1] for out, _ in outputs]
    assert lines[1] == lines[0].replace("train:", "train (process 1 of 2):")  # the same metrics on both
    assert sorted(p.name for p in (two / "data").iterdir()) == ["features", "split", "train"]  # only process 0 wrote
    assert not any("WARNING" in err or "Traceback" in err for _, err in outputs), outputs[1][1][-2000:]


def test_a_killed_worker_ends_the_other_within_the_peer_timeout_with_one_line_and_writes_nothing(tmp_path):
    root = make_project(tmp_path, epochs=2000, batch_size=8, learning_rate=0.01, peer_timeout_s=5, **TF)
    (root / "data" / "train").mkdir()
    (root / "data" / "train" / "model.keras").write_text("the previous model")
    ports = free_ports(2)
    processes = pair(root, ports)
    assert wait_for_epoch(root, 1, processes, timeout_s=90), "training ended too soon"
    processes[1].send_signal(signal.SIGKILL)
    _, err = processes[0].communicate(timeout=90)  # a guard: the supervisor's own waits are bounded by the timeout
    assert processes[0].returncode == 1, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: train, process 0 of 2 (coordinator 127.0.0.1:{ports[0]}): lost process 1"), err
    assert "train.peer_timeout_s (5 s); nothing was written to the stage's outputs" in last
    assert "Traceback" not in err
    assert (root / "data" / "train" / "model.keras").read_text() == "the previous model"
