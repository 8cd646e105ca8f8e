"""What the processes that train one model exchange besides gradients: process 0's checkpoint, every process's
run fingerprint. On the engine the stage joined (training/cluster.py): JAX's multihost utilities, or a sum over
TensorFlow's workers (training/tf_workers.py). Each is a collective step: every process must call it."""

from __future__ import annotations

import json

import numpy as np

from . import tf_workers


def broadcast(values: list[np.ndarray], from_here: bool) -> list[np.ndarray]:
    """``values`` as the one process with ``from_here`` has them (the others pass arrays of the same shapes)."""
    if tf_workers.joined():  # a sum in which the others give zeros: x + 0 is x exactly
        return tf_workers.all_sum([v if from_here else np.zeros_like(v) for v in map(np.asarray, values)])
    from jax.experimental import multihost_utils

    return [np.asarray(v) for v in multihost_utils.broadcast_one_to_all(values, is_source=from_here)]


def gather(array: np.ndarray) -> np.ndarray:
    """Every process's ``array`` (the same shape on each), stacked in process order."""
    array = np.asarray(array)
    if tf_workers.joined():
        index, processes = tf_workers.place()
        rows = np.zeros((processes, *array.shape), array.dtype)
        rows[index] = array
        return tf_workers.all_sum([rows])[0]
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(array)).reshape(-1, *array.shape)


def broadcast_json(obj, from_here: bool):
    data = np.frombuffer(json.dumps(obj).encode(), np.uint8) if from_here else np.zeros(0, np.uint8)
    (size,) = broadcast([np.array([len(data)], np.int64)], from_here)
    (data,) = broadcast([np.resize(data, int(size[0])) if from_here else np.zeros(int(size[0]), np.uint8)], from_here)
    return json.loads(data.tobytes().decode())


def gathered_json(obj) -> list:
    """``obj`` of every process, in process order."""
    data = np.frombuffer(json.dumps(obj, sort_keys=True, default=str).encode(), np.uint8)
    sizes = gather(np.array([len(data)], np.int64)).reshape(-1)
    padded = np.zeros(int(sizes.max()), np.uint8)
    padded[: len(data)] = data
    rows = gather(padded)
    return [json.loads(row[:size].tobytes().decode()) for row, size in zip(rows, sizes)]
