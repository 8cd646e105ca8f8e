"""Several processes training one model (training/cluster.py): two processes on 127.0.0.1 through the real train
stage, killed and resumed, against one process on the same global batches; a killed peer."""

import pytest
from cluster_runs import assert_peer_lost, assert_trained_as_one, killed_and_resumed, with_previous_model

from imgclf.tools.cluster_demo import free_port, launch, make_project
from imgclf.training import cluster as cluster_module
from imgclf.training.cluster import diagnosis
from imgclf.training.cluster_layout import Cluster, cluster_from

pytestmark = pytest.mark.slow


def pair(root, port):
    return [launch(root, 2, port, i) for i in (0, 1)]


def test_a_killed_peer_ends_the_other_within_the_timeout_with_one_line_and_writes_nothing(tmp_path):
    root = with_previous_model(
        make_project(tmp_path, epochs=2000, batch_size=8, learning_rate=0.002, peer_timeout_s=10)
    )
    port = free_port()
    assert_peer_lost(root, pair(root, port), 2, f"127.0.0.1:{port}", 10)


def test_two_processes_killed_mid_way_resume_to_the_weights_of_one_process_on_the_global_batch(tmp_path):
    """Two processes through the real train stage, each on half of every global batch, SIGKILLed after epoch 3
    and started again: they resume, and end on the weights one process trains on the whole batches (so the two
    match before the kill as after it)."""
    one = make_project(tmp_path / "one", epochs=8, batch_size=16, learning_rate=0.004)
    two = make_project(tmp_path / "two", epochs=8, batch_size=8, learning_rate=0.002)  # per process: scaled by 2
    outputs = killed_and_resumed(launch(one, 1, 0), lambda: pair(two, free_port()), two, 3, 60)
    assert "resuming models.head after epoch" in outputs[0][0]
    assert_trained_as_one(one, two, outputs, "jax")


def test_processes_started_on_different_params_refuse_to_train_together_naming_the_key(tmp_path):
    """Two clones, one with another learning rate: both end at the join with one line naming the first key that
    differs, before any checkpoint is read or written."""
    roots = [
        make_project(tmp_path / str(i), epochs=3, batch_size=8, learning_rate=lr) for i, lr in ((0, 0.002), (1, 0.05))
    ]
    port = free_port()
    processes = [launch(root, 2, port, i) for i, root in enumerate(roots)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [1, 1], outputs
    for index, (_, err) in enumerate(outputs):
        last = err.strip().splitlines()[-1]
        assert last.startswith(f"error: train, process {index} of 2"), err[-2000:]
        assert "the first difference is models.head.learning_rate: 0.002 on process 0, 0.05 on process 1" in last
        assert "Traceback" not in err
    assert not any((root / "checkpoints").exists() for root in roots)
    assert not any((root / "data" / "train").exists() for root in roots)


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, None),
        (
            {
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234,10.0.0.2:2345",
                "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
                "KERAS_DISTRIBUTION_PROCESS_ID": "1",
            },
            Cluster(2, 1, ("10.0.0.1:1234", "10.0.0.2:2345"), "KERAS_DISTRIBUTION_*"),
        ),
        (
            {"TF_CONFIG": '{"cluster": {"worker": ["h0:1", "h1:2"]}, "task": {"type": "worker", "index": 1}}'},
            Cluster(2, 1, ("h0:1", "h1:2"), "TF_CONFIG"),
        ),
        ({"TF_CONFIG": '{"cluster": {"worker": ["h0:1"]}, "task": {"type": "worker", "index": 0}}'}, None),
        ({"SLURM_NTASKS": "4", "SLURM_PROCID": "3"}, Cluster(4, 3, (), "SLURM")),
        ({"OMPI_COMM_WORLD_SIZE": "1", "OMPI_COMM_WORLD_RANK": "0"}, None),
    ],
)
def test_the_cluster_comes_from_keras_variables_or_tf_config_or_slurm_or_open_mpi(environ, expected):
    assert cluster_from(environ) == expected


@pytest.mark.parametrize(
    "tf_config, message",
    [
        ("garbage", r'TF_CONFIG must be \{"cluster": \{"worker": \[host:port'),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"index": 1}}', r'task\'s "type" must be "worker"; got None'),
        (
            '{"cluster": {"worker": ["a:1"], "chief": ["c:3"]}, "task": {"type": "worker", "index": 0}}',
            r"no chief or ps",
        ),
        (
            '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}',
            r"index must be 0\.\.1; got 2",
        ),
    ],
)
def test_a_wrong_tf_config_is_one_line_naming_what_is_wrong(tf_config, message):
    from imgclf.errors import ParamsError

    with pytest.raises(ParamsError, match=message):
        cluster_from({"TF_CONFIG": tf_config})


def test_an_abort_without_a_message_becomes_one_line_naming_the_peer_and_the_timeout():
    cluster = Cluster(3, 0, ("10.0.0.1:1234",), "KERAS_DISTRIBUTION_*")
    line = diagnosis(cluster, -6, ["Gloo AllGather failed: Connection reset by peer"], True, 300, 60)
    assert line == (
        "train, process 0 of 3 (coordinator 10.0.0.1:1234): lost one of process 1, process 2: no answer within "
        "train.peer_timeout_s (60 s); nothing was written to the stage's outputs"
    )
    unreached = diagnosis(Cluster(2, 1, ("10.0.0.1:1234",), "KERAS_DISTRIBUTION_*"), -6, [], False, 300, 60)
    assert "could not reach process 0 at 10.0.0.1:1234 within train.connect_timeout_s (300 s)" in unreached


def test_the_supervisor_holds_back_jaxs_dump_and_passes_the_childs_own_lines(capsys):
    """A wrong coordinator port printed the RPC's name on a line of its own beside the one-line error."""
    import collections
    import io
    import threading

    lines = ["train: process 1 of 2 joined the cluster\n", "RPC: /xla.coordination.CoordinationService/RegisterTask\n"]
    lines += ["E0000 00:00:1 coordination_service_agent.cc:1] Failed to connect\n", "warning: something to read\n"]
    joined = cluster_module._relay_stderr(
        io.StringIO("".join(lines)), collections.deque(maxlen=60), [], threading.Event()
    )
    assert (
        joined and capsys.readouterr().err == "train: process 1 of 2 joined the cluster\nwarning: something to read\n"
    )
