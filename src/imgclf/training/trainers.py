"""The generic trainer, and the pieces every trainer shares: a ``ModelSpec``'s model built for the data and fitted.

Every trainer writes ``model.keras`` (the model's inputs in, logits out) into
its output folder and returns a ``Trained``: train.json's content and the
timing. It gets one ``TrainingJob`` (training/job.py): the recipe, the seed and
the resolved runtime; the seed is set by the caller (``runtime.keras_state``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np

from ..data.arrays import read_classes, read_embeddings, read_split, read_views
from ..hardware import accelerators
from ..models.spec import BuildContext, ModelSpec
from .batches import Batches, balanced_weights
from .fit import FitResult, fit_classifier
from .fitted import fitted_batch
from .saving import save_model
from .trained import Trained

if TYPE_CHECKING:
    from .job import TrainingJob


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
    job: TrainingJob,
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
    context = BuildContext(tuple(x.shape[1:]), classes, job.seed, on_gpu=bool(accelerators()), **stats)
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
        job.seed,
        *mixing,
        views=views,
        class_weights=weights,
        alternate_flip=alternate,
    )
    val = Batches(x_val, y_val, classes, recipe.batch_size)
    with job.building():
        model = spec.build(recipe, context)
        result = fit_classifier(
            model, recipe, job.runtime.jit_compile, train, val, live_dir, key, checkpoint, process=job.process
        )
    return model, result, len(y), len(y_val)


def train_keras(
    spec: ModelSpec, job: TrainingJob, split_dir: Path, features_dir: Path, out: Path, checkpoints
) -> Trained:
    """A model the spec can build: built for the data, fitted with ``fit_classifier``."""
    recipe = job.scaled()
    model, result, n_train, n_val = fit_built(
        spec, recipe, job.key, job, split_dir, features_dir, out / "live", checkpoint_phase(checkpoints, "main")
    )
    save_model(model, out / "model.keras")
    return Trained(
        summary(model, job.model, spec.inputs, result, n_train, n_val, **job.record(recipe)), result.timing()
    )
