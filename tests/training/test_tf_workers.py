"""Several processes on TensorFlow's workers (training/tf_workers.py), the CPU route: two processes on 127.0.0.1
through the real train stage, an image model with BatchNormalization, against one process on the global batch;
killed and resumed; a killed peer."""

import pytest
from cluster_runs import assert_peer_lost, assert_trained_as_one, killed_and_resumed, with_previous_model

from imgclf.tools.cluster_demo import free_ports, launch, make_project

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
    outputs = killed_and_resumed(single, lambda: pair(two, free_ports(2)), two, 1, 90)
    assert "resuming models.airbench after epoch 1" in outputs[0][0]
    record = assert_trained_as_one(one, two, outputs, "tensorflow")
    assert record["distribution"] == "tf.distribute.MultiWorkerMirroredStrategy over 2 processes"
    assert not any("WARNING" in err or "Traceback" in err for _, err in outputs), outputs[1][1][-2000:]


def test_a_killed_worker_ends_the_other_within_the_peer_timeout_with_one_line_and_writes_nothing(tmp_path):
    root = with_previous_model(
        make_project(tmp_path, epochs=2000, batch_size=8, learning_rate=0.01, peer_timeout_s=5, **TF)
    )
    ports = free_ports(2)
    assert_peer_lost(root, pair(root, ports), 1, f"127.0.0.1:{ports[0]}", 5)
