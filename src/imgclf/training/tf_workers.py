"""Several processes on TensorFlow's MultiWorkerMirroredStrategy: the CPU route of training/cluster.py.

On CPUs this engine trains at TensorFlow's speed in every process (docs/distribution.md measures it against one
process), where JAX runs these convolutions several times slower. Keras' own ``fit`` trains under it, with the two
fixes of ``keras_internals.fit_on_tensorflow_workers``. Each process feeds its rows of every global batch
(``batches.ProcessRows``) as its replica's dataset, with no sharding or rebatching by tf.distribute, so the global
batch is the one a single process would see; the optimizer sums the gradients over the workers, and
BatchNormalization's statistics are computed over the global batch (synchronized), so two processes train the
weights one process trains on the global batch. Collectives wait at most ``train.peer_timeout_s`` for a peer.

The strategy must exist before TensorFlow runs its first op, so ``start`` runs before Keras is started.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator

import numpy as np

from ..errors import ParamsError
from ..runtime import quiet_native_logs

_joined: dict = {}  # the strategy of the cluster this process joined, and its place in it


def start(cluster, peer_timeout_s: int) -> None:
    """Join ``cluster`` (a ``training.cluster.Cluster``) as one of its TensorFlow workers."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_native_logs():  # TensorFlow's start-up chatter, as runtime.start_keras holds it back
        _start(cluster, peer_timeout_s)


def _start(cluster, peer_timeout_s: int) -> None:
    import tensorflow as tf

    resolver = None
    if cluster.addresses and len(cluster.addresses) != cluster.processes:
        raise ParamsError(
            f"TensorFlow workers need a host:port for each of the {cluster.processes} processes, process 0's first; "
            f"{cluster.source} gives {len(cluster.addresses)}: {', '.join(cluster.addresses)}"
        )
    if cluster.addresses:
        task = {"type": "worker", "index": cluster.index}
        os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": list(cluster.addresses)}, "task": task})
    elif cluster.source == "SLURM":
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver()
    else:
        raise ParamsError(
            f"TensorFlow workers need every process's host:port; {cluster.source} does not give them: set "
            "KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES and _PROCESS_ID (docs/distribution.md)"
        )
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=peer_timeout_s)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver, communication_options=options)
    _joined.update(strategy=strategy, index=cluster.index, processes=cluster.processes)
    all_sum([np.ones(1, np.float32)])  # returns once every worker is there


def joined() -> bool:
    return bool(_joined)


def strategy():
    return _joined["strategy"]


def place() -> tuple[int, int]:
    """(this process, processes)."""
    return _joined["index"], _joined["processes"]


def all_sum(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The elementwise sum of ``arrays`` over the workers (a collective step: every worker must call it)."""
    import tensorflow as tf

    def replica(*values):
        return tf.distribute.get_replica_context().all_reduce("SUM", list(values))

    wide = [np.asarray(a).astype(np.int64) if np.asarray(a).dtype.kind in "biu" else np.asarray(a) for a in arrays]
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)  # "Using CollectiveAllReduceStrategy eagerly has significant overhead": a few
    try:  # calls at the start and at a resume (a tf.function of it fails: "destinations can not be empty")
        summed = strategy().run(replica, args=tuple(tf.constant(a) for a in wide))
    finally:
        logger.setLevel(level)
    local = [np.asarray(strategy().experimental_local_results(s)[0]) for s in summed]
    return [s.astype(np.asarray(a).dtype) for s, a in zip(local, arrays)]


def distributed(rows):
    """``rows`` (this process's part of every batch, a PyDataset) as the dataset of this worker's replica."""
    import tensorflow as tf

    signature = tuple(tf.TensorSpec((None, *p.shape[1:]), tf.as_dtype(p.dtype)) for p in rows[0])

    def batches():
        for index in range(len(rows)):  # the batches' order is set per epoch (fit.EpochOrder) before iterating
            yield tuple(rows[index])

    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(rows))).prefetch(2)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    options.autotune.enabled = False  # its wake-ups stalled epoch starts by up to a minute (batches.loader_threads)
    dataset = dataset.with_options(options)
    return strategy().distribute_datasets_from_function(lambda _: dataset)


@contextlib.contextmanager
def synchronized_batchnorm(model) -> Iterator[None]:
    """BatchNormalization over the global batch while fitting; the saved model's layers as they were."""
    import keras

    layers = [layer for layer in _nested(model) if isinstance(layer, keras.layers.BatchNormalization)]
    before = [layer.synchronized for layer in layers]
    for layer in layers:
        layer.synchronized = True
    try:
        yield
    finally:
        for layer, value in zip(layers, before):
            layer.synchronized = value


def _nested(layer) -> Iterator:
    for inner in getattr(layer, "layers", ()):  # functional models and Sequential (the project's BN layers)
        yield inner
        yield from _nested(inner)
