"""Data-parallel training over the local devices, through the backend's own engine.

TensorFlow: ``tf.distribute.MirroredStrategy`` over the local GPUs (or the
logical CPU devices when there is no GPU, which is how the CPU path is
tested); over several processes, the ``MultiWorkerMirroredStrategy`` they
joined (``tf_workers``). JAX: ``keras.distribution.DataParallel`` over
``jax.devices()``, in one process or several.
Like the SAM train steps, this is backend-specific by nature and kept here.

Scaling: ``batch_size`` in a recipe is per device, so the global batch is
``batch_size * replicas``, and the learning rate is scaled by ``replicas``
too (the linear scaling rule, Goyal et al. 2017; keep some warmup).
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass

import keras

from ..errors import ParamsError


@dataclass
class Placement:
    replicas: int
    engine: str  # what runs the replicas, for train.json
    strategy: object = None  # a tf.distribute strategy, whose scope models must be built in
    process: int = 0  # this process among ``processes`` (training.cluster): 0 writes the outputs
    processes: int = 1

    def scope(self) -> contextlib.AbstractContextManager:
        """A fresh context to build and compile models in (a strategy scope cannot be re-entered)."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()


def _tensorflow(mode: str) -> Placement:
    import tensorflow as tf

    from . import tf_workers

    if tf_workers.joined():  # joined a cluster (training.cluster.start): every process feeds its own rows
        index, processes = tf_workers.place()
        engine = f"tf.distribute.MultiWorkerMirroredStrategy over {processes} processes"
        strategy = tf_workers.strategy()
        return Placement(strategy.num_replicas_in_sync, engine, strategy, process=index, processes=processes)
    gpus = tf.config.list_logical_devices("GPU")
    devices = gpus or (tf.config.list_logical_devices("CPU") if mode == "data_parallel" else [])
    if mode == "none" or len(devices) < 2:
        return Placement(1, "single device")
    strategy = tf.distribute.MirroredStrategy([d.name for d in devices])
    return Placement(strategy.num_replicas_in_sync, f"MirroredStrategy over {len(devices)} devices", strategy)


def _jax(mode: str) -> Placement:
    import jax

    devices = jax.devices()
    if jax.process_count() > 1:  # joined a cluster (training.cluster.start): every process feeds its own rows
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False))
        engine = f"keras.distribution.DataParallel over {len(devices)} devices in {jax.process_count()} processes"
        return Placement(len(devices), engine, process=jax.process_index(), processes=jax.process_count())
    if mode == "none" or len(devices) < 2:
        return Placement(1, "single device")
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return Placement(len(devices), f"keras.distribution.DataParallel over {len(devices)} devices")


def placement(mode: str) -> Placement:
    """The devices for train.distribution ``mode``, resolved (``runtime.resolve_distribution``): ``none``;
    ``data_parallel`` over the local devices; ``multi_process``, the processes the stage joined (JAX,
    ``training.cluster``)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow(mode)
    if backend == "jax":
        return _jax(mode)
    if mode == "data_parallel":
        raise ParamsError(
            f"train.distribution 'data_parallel' needs the tensorflow or jax backend; this one is {backend!r}"
        )
    return Placement(1, "single device")


def scaled(recipe, replicas: int):
    """The recipe for ``replicas`` devices: global batch and learning rate both times ``replicas``."""
    if replicas == 1:
        return recipe
    return dataclasses.replace(
        recipe, batch_size=recipe.batch_size * replicas, learning_rate=recipe.learning_rate * replicas
    )
