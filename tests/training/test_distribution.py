"""The data-parallel path on CPU: TensorFlow's MirroredStrategy over two logical CPU devices."""

import json
import os
import socket
import subprocess
import sys
import textwrap
from subprocess import PIPE

import pytest

SCRIPT = textwrap.dedent(
    """
    import dataclasses, json, pathlib, tempfile
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from imgclf.training.batches import Batches
    from imgclf.training.distribution import placement, scaled
    from imgclf.models.head import build_head
    from imgclf.models.head import HeadParams
    from imgclf.runtime import resolve_distribution
    from imgclf.training.fit import fit_classifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = np.eye(3, dtype="float32")[np.arange(64) % 3]

    def one_step(place):
        keras.utils.set_random_seed(0)
        with place.scope():
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
            model.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)  # one step over the global batch
        return model.get_weights()[0]

    parallel = placement("data_parallel")
    gap = float(np.max(np.abs(one_step(parallel) - one_step(placement("none")))))

    keras.utils.set_random_seed(0)
    recipe = scaled(dataclasses.replace(HeadParams(), epochs=2, batch_size=8, hidden_units=[16]), parallel.replicas)
    with parallel.scope():
        head = build_head(8, 3, [16], 0.0, np.zeros(8), np.ones(8), seed=0)
        labels = np.arange(64) % 3
        result = fit_classifier(head, recipe, False,
                                Batches(x, labels, 3, recipe.batch_size, seed=0), Batches(x, labels, 3, recipe.batch_size),
                                pathlib.Path(tempfile.mkdtemp()) / "live", "models.head")
    print(json.dumps({"replicas": parallel.replicas, "engine": parallel.engine, "gap": gap,
                      "global_batch": recipe.batch_size, "epochs": result.epochs_run,
                      "auto": placement(resolve_distribution("auto", False, 0)).replicas}))
    """
)


def test_mirrored_strategy_over_logical_cpus_matches_one_device_on_the_global_batch():
    env = {**os.environ, "IMGCLF_NO_PROGRESS": "1", "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2 and result["engine"] == "MirroredStrategy over 2 devices"
    assert result["gap"] < 1e-5  # two replicas of 32 images = one device on 64: the same gradient step
    assert result["global_batch"] == 16 and result["epochs"] == 2
    assert result["auto"] == 1  # auto goes data-parallel on several GPUs only, not on logical CPUs


CLUSTER_WORKER = textwrap.dedent(
    """
    import json, sys
    import numpy as np, tensorflow as tf, keras
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = np.eye(3, dtype="float32")[np.arange(64) % 3]
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=1, verbose=0)
    print(json.dumps(model.get_weights()[0].tolist()))
    """
)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class KerasMultiWorkerBug(Exception):
    """Keras 3 fit under MultiWorkerMirroredStrategy: keras-team/keras#20585."""


@pytest.mark.xfail(strict=True, raises=KerasMultiWorkerBug, reason=KerasMultiWorkerBug.__doc__)
def test_two_localhost_workers_train_with_keras_fit():
    """Why keras_internals.fit_on_tensorflow_workers exists: plain Keras fit on two MultiWorkerMirroredStrategy
    workers on 127.0.0.1 fails (Keras 3.15.1, TF 2.21). Strict: once Keras fixes it this test fails, and the two
    fixes can go (tests/training/test_tf_workers.py trains with them)."""
    cluster = [f"127.0.0.1:{port}" for port in free_ports(2)]
    workers = []
    for index in range(2):
        config = {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(config), "KERAS_BACKEND": "tensorflow"}
        workers.append(subprocess.Popen([sys.executable, "-c", CLUSTER_WORKER], env=env, stdout=PIPE, stderr=PIPE))
    errors = [w.communicate(timeout=300)[1].decode() for w in workers]
    if any("(<class 'tensorflow.python.distribute.values.PerReplica'>) to a Tensor" in e for e in errors):
        raise KerasMultiWorkerBug(errors[0][-500:])
    assert all(w.returncode == 0 for w in workers), errors[0][-2000:]
