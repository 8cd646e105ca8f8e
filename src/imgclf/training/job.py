"""The one training job the train stage resolves at its start and hands down: what to train, with which recipe
and seed, and on what runtime, every "auto" of the train section decided once (``runtime.resolve_*``).

Nothing below takes params.yaml whole or re-reads a setting: trainers, fitting and the planner get a job.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..hardware import accelerators, native_bfloat16
from ..runtime import dtype_policy, resolve_distribution, resolve_jit, resolve_precision

if TYPE_CHECKING:
    from .distribution import Placement
    from .params import TrainParams


@dataclass(frozen=True)
class Runtime:
    """Where and how the job computes, resolved."""

    backend: str  # the Keras backend
    precision: str  # the Keras dtype policy models are built under
    jit_compile: bool
    distribution: str  # none | data_parallel | multi_process


@dataclass(frozen=True)
class TrainingJob:
    model: str
    recipe: Any  # the model's params section
    seed: int
    runtime: Runtime
    placement: Placement = field(compare=False, repr=False)

    @property
    def key(self) -> str:
        """The recipe's place in params.yaml, for messages."""
        return f"models.{self.model}"

    def scaled(self, recipe=None):
        """The recipe (the job's own by default) for the job's devices: per-device batch, the learning rate
        times the device count (the linear scaling rule)."""
        from .distribution import scaled

        return scaled(self.recipe if recipe is None else recipe, self.placement.replicas)

    @contextlib.contextmanager
    def building(self) -> Iterator[None]:
        """Where models are built and fitted: under the job's dtype policy, in the strategy scope (devices)."""
        with dtype_policy(self.runtime.precision), self.placement.scope():
            yield

    @property
    def process(self) -> tuple[int, int]:
        """(this process, processes) when several train one model together; (0, 1) otherwise."""
        return self.placement.process, self.placement.processes

    def record(self, recipe) -> dict:
        """train.json's account of how the job ran."""
        place = self.placement
        return {
            "precision": self.runtime.precision,
            "replicas": place.replicas,
            "processes": place.processes,
            "distribution": place.engine,
            "global_batch": recipe.batch_size,
        }

    def config(self) -> dict:
        """Everything the trained model depends on besides its data and code (the checkpoint key)."""
        return {
            "seed": self.seed,
            "model": self.model,
            "runtime": dataclasses.asdict(self.runtime),
            "models": {self.model: dataclasses.asdict(self.recipe)},
        }


def resolve_job(model: str, recipe, seed: int, train: TrainParams, cluster=None) -> TrainingJob:
    """The job, once Keras runs on its backend (``runtime.start_keras``): every "auto" resolved, the devices
    placed (``training.distribution``)."""
    import keras

    from .distribution import placement

    gpus = len(accelerators())
    mode = resolve_distribution(train.distribution, cluster is not None, gpus)
    place = placement(mode)
    backend = keras.backend.backend()
    runtime = Runtime(
        backend=backend,
        precision=resolve_precision(train.mixed_precision, gpus),
        jit_compile=resolve_jit(train.jit_compile, backend, gpus, place.replicas),
        distribution=mode,
    )
    return TrainingJob(model, recipe, seed, runtime, place)


def precision_warning(policy: str) -> str | None:
    """Why ``policy`` will be slow here, where it will: bfloat16 on a CPU that only emulates it."""
    if policy == "mixed_bfloat16" and not accelerators() and not native_bfloat16():
        return (
            "train.mixed_precision mixed_bfloat16: this CPU has no bfloat16 units (AVX512-BF16 or AMX), so "
            "bfloat16 is emulated and slower than float32 here; `imgclf plan` times both"
        )
    return None
