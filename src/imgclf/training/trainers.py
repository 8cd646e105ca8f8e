"""Training a model whatever it is: ``train_model`` runs a ``ModelSpec``'s own trainer, or builds and fits it.

Every trainer writes ``model.keras`` (the model's inputs in, logits out) into
its output folder and returns a ``Trained``: train.json's content and the
timing. The seed is the caller's (``runtime.keras_state``); the dtype policy
is an argument, carried by the ``Run`` and applied where models are built;
placement and the recipe's scaling to the device count are set up once, in ``prepare``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np

from ..data.arrays import read_classes, read_embeddings, read_split, read_views
from ..hardware import accelerators, native_bfloat16
from ..runtime import dtype_policy
from .batches import Batches, balanced_weights
from .distribution import Placement, placement, scaled
from .fit import FitResult, fit_classifier
from .fitted import fitted_batch
from .saving import save_model
from .spec import BuildContext, ModelSpec, Trained

if TYPE_CHECKING:
    from ..params import Params


def precision_policy(mode: str) -> str:
    """train.mixed_precision as a Keras dtype policy: ``auto`` is mixed_float16 on a GPU, float32 on a CPU."""
    if mode != "auto":
        return mode
    return "mixed_float16" if accelerators() else "float32"


def precision_warning(policy: str) -> str | None:
    """Why ``policy`` will be slow here, where it will: bfloat16 on a CPU that only emulates it."""
    if policy == "mixed_bfloat16" and not accelerators() and not native_bfloat16():
        return (
            "train.mixed_precision mixed_bfloat16: this CPU has no bfloat16 units (AVX512-BF16 or AMX), so "
            "bfloat16 is emulated and slower than float32 here; `imgclf plan` times both"
        )
    return None


@dataclass
class Run:
    """How one training run is placed and computed; the same for every trainer."""

    placement: Placement
    policy: str  # Keras dtype policy the models are built under

    def scaled(self, recipe):
        """The recipe for this run's devices: per-device batch, learning rate times the device count."""
        return scaled(recipe, self.placement.replicas)

    @contextlib.contextmanager
    def building(self) -> Iterator[None]:
        """Where models are built and fitted: under the run's dtype policy, in the strategy scope (devices)."""
        with dtype_policy(self.policy), self.placement.scope():
            yield

    @property
    def process(self) -> tuple[int, int]:
        """(this process, processes) when several train one model together; (0, 1) otherwise."""
        return self.placement.process, self.placement.processes

    def record(self, recipe) -> dict:
        place = self.placement
        return {
            "precision": self.policy,
            "replicas": place.replicas,
            "processes": place.processes,
            "distribution": place.engine,
            "global_batch": recipe.batch_size,
        }


def prepare(params: Params, policy: str) -> Run:
    return Run(placement(params.train.distribution), policy)


def trainable_count(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def summary(model: keras.Model, name: str, kind: str, result: FitResult, n_train: int, n_val: int, **extra) -> dict:
    """train.json's content: what the run reached and on what (``FitResult.timing`` is kept apart)."""
    return {
        "model": name,
        "input": kind,
        "params": int(model.count_params()),
        "trainable_params": trainable_count(model),
        "train_images": n_train,
        "val_images": n_val,
        **result.outcome(),
        **extra,
    }


def read_inputs(kind: str, split_dir: Path, features_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels) of a split: cached embeddings or memory-mapped uint8 images."""
    if kind == "embeddings":
        return read_embeddings(features_dir, split_dir, split)
    return read_split(split_dir, split)


def embedding_stats(train: np.ndarray, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and variance in float64, streamed over a memory map (a head's standardization)."""
    total = np.zeros(train.shape[1])
    squares = np.zeros(train.shape[1])
    for start in range(0, len(train), chunk):
        block = np.asarray(train[start : start + chunk], dtype=np.float64)
        total += block.sum(0)
        squares += (block**2).sum(0)
    mean = total / len(train)
    variance = np.maximum(squares / len(train) - mean**2, 0.0)
    return mean, np.where(variance > 1e-12, variance, 1.0)


def checkpoint_phase(checkpoints: Path | None, name: str) -> Path | None:
    return None if checkpoints is None else Path(checkpoints) / name


def fit_built(
    spec: ModelSpec,
    recipe,
    key: str,
    params: Params,
    run: Run,
    split_dir: Path,
    features_dir: Path,
    live_dir: Path,
    checkpoint: Path | None,
):
    """Build ``spec``'s model for the data and fit it: (model, FitResult, train size, val size)."""
    x, y = read_inputs(spec.inputs, split_dir, features_dir, "train")
    x_val, y_val = read_inputs(spec.inputs, split_dir, features_dir, "val")
    recipe = fitted_batch(recipe, len(y), key)
    classes = len(read_classes(split_dir))
    stats = (
        dict(zip(("embedding_mean", "embedding_variance"), embedding_stats(x)))
        if spec.inputs == "embeddings"
        else {"train_images": x}
    )
    context = BuildContext(tuple(x.shape[1:]), classes, params.seed, on_gpu=bool(accelerators()), **stats)
    augment = getattr(recipe, "augment", None)
    mixing = (augment.mixup_alpha, augment.cutmix_alpha) if augment else (0.0, 0.0)
    views = read_views(features_dir, x.shape) if spec.inputs == "embeddings" else None
    weights = balanced_weights(y, classes) if recipe.class_weight == "balanced" else None
    alternate = bool(augment) and augment.flip == "alternating"
    train = Batches(
        x,
        y,
        classes,
        recipe.batch_size,
        params.seed,
        *mixing,
        views=views,
        class_weights=weights,
        alternate_flip=alternate,
    )
    val = Batches(x_val, y_val, classes, recipe.batch_size)
    with run.building():
        model = spec.build(recipe, context)
        result = fit_classifier(model, recipe, params.train, train, val, live_dir, key, checkpoint, process=run.process)
    return model, result, len(y), len(y_val)


def train_keras(
    spec: ModelSpec, params: Params, run: Run, split_dir: Path, features_dir: Path, out: Path, checkpoints: Path | None
) -> Trained:
    """A model the spec can build: built for the data, fitted with ``fit_classifier``."""
    recipe = run.scaled(params.recipe)
    model, result, n_train, n_val = fit_built(
        spec,
        recipe,
        f"models.{params.model}",
        params,
        run,
        split_dir,
        features_dir,
        out / "live",
        checkpoint_phase(checkpoints, "main"),
    )
    save_model(model, out / "model.keras")
    return Trained(
        summary(model, params.model, spec.inputs, result, n_train, n_val, **run.record(recipe)), result.timing()
    )


def train_model(
    spec: ModelSpec,
    params: Params,
    split_dir: Path,
    features_dir: Path,
    out: Path,
    checkpoints: Path | None = None,
    policy: str = "float32",
) -> Trained:
    """Train ``params.model`` as ``spec`` says, under dtype ``policy``; with ``checkpoints``, resume from and
    save epoch checkpoints there."""
    trainer = spec.train or functools.partial(train_keras, spec)
    return trainer(params, prepare(params, policy), Path(split_dir), Path(features_dir), Path(out), checkpoints)
