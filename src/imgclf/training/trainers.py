"""The train stage's library side: ``train`` looks ``model`` up in the registry and trains it.

Every trainer writes ``model.keras`` (the model's inputs in, logits out) into
its output folder and returns the summary that becomes train.json. Seed and
dtype policy come from the caller (``runtime.keras_state``); placement and the
recipe's scaling to the device count are set up once here, in ``prepare``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np

from ..data.arrays import read_classes, read_embeddings, read_split, read_views
from ..hardware import accelerators
from ..models.head import embedding_stats
from ..models.registry import MODELS, BuildContext, ModelSpec
from ..models.saving import save_model
from .batches import Batches, balanced_weights
from .distribution import Placement, placement, scaled
from .fit import FitResult, fit_classifier

if TYPE_CHECKING:
    from ..params import Params


def precision_policy(mode: str) -> str:
    """train.mixed_precision as a Keras dtype policy: ``auto`` is mixed_float16 on a GPU, float32 on a CPU."""
    if mode != "auto":
        return mode
    return "mixed_float16" if accelerators() else "float32"


@dataclass
class Run:
    """How one training run is placed and computed; the same for every trainer."""

    placement: Placement
    policy: str

    def scaled(self, recipe):
        """The recipe for this run's devices: per-device batch, learning rate times the device count."""
        return scaled(recipe, self.placement.replicas)

    def record(self, recipe) -> dict:
        place = self.placement
        return {
            "precision": self.policy,
            "replicas": place.replicas,
            "distribution": place.engine,
            "global_batch": recipe.batch_size,
        }


def prepare(params: Params) -> Run:
    return Run(placement(params.train.distribution), keras.config.dtype_policy().name)


def trainable_count(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def summary(model: keras.Model, name: str, kind: str, result: FitResult, n_train: int, n_val: int, **extra) -> dict:
    """train.json's content, plus a ``timing`` entry the stage writes elsewhere (see ``FitResult.timing``)."""
    return {
        "model": name,
        "input": kind,
        "params": int(model.count_params()),
        "trainable_params": trainable_count(model),
        "train_images": n_train,
        "val_images": n_val,
        **result.outcome(),
        **extra,
        "timing": result.timing(),
    }


def read_inputs(kind: str, split_dir: Path, features_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels) of a split: cached embeddings or memory-mapped uint8 images."""
    if kind == "embeddings":
        return read_embeddings(features_dir, split_dir, split)
    return read_split(split_dir, split)


def checkpoint_phase(checkpoints: Path | None, name: str) -> Path | None:
    return None if checkpoints is None else Path(checkpoints) / name


def fit_built(
    spec: ModelSpec,
    recipe,
    key: str,
    params: Params,
    split_dir: Path,
    features_dir: Path,
    live_dir: Path,
    checkpoint: Path | None,
):
    """Build ``spec``'s model for the data and fit it: (model, FitResult, train size, val size)."""
    x, y = read_inputs(spec.inputs, split_dir, features_dir, "train")
    x_val, y_val = read_inputs(spec.inputs, split_dir, features_dir, "val")
    classes = len(read_classes(split_dir))
    stats = (
        dict(zip(("embedding_mean", "embedding_variance"), embedding_stats(x))) if spec.inputs == "embeddings" else {}
    )
    context = BuildContext(tuple(x.shape[1:]), classes, params.seed, on_gpu=bool(accelerators()), **stats)
    model = spec.build(recipe, context)
    augment = getattr(recipe, "augment", None)
    mixing = (augment.mixup_alpha, augment.cutmix_alpha) if augment else (0.0, 0.0)
    views = read_views(features_dir, x.shape) if spec.inputs == "embeddings" else None
    weights = balanced_weights(y, classes) if recipe.class_weight == "balanced" else None
    train = Batches(x, y, classes, recipe.batch_size, params.seed, *mixing, views=views, class_weights=weights)
    val = Batches(x_val, y_val, classes, recipe.batch_size)
    result = fit_classifier(model, recipe, params.train, train, val, live_dir, key, checkpoint)
    return model, result, len(y), len(y_val)


def train_keras(
    params: Params, run: Run, split_dir: Path, features_dir: Path, out: Path, checkpoints: Path | None
) -> dict:
    """The models the registry can build: built for the data, fitted with ``fit_classifier``."""
    spec = MODELS[params.model]
    recipe = run.scaled(params.recipe)
    with run.placement.scope():
        model, result, n_train, n_val = fit_built(
            spec,
            recipe,
            f"models.{params.model}",
            params,
            split_dir,
            features_dir,
            out / "live",
            checkpoint_phase(checkpoints, "main"),
        )
    save_model(model, out / "model.keras")
    return summary(model, params.model, spec.inputs, result, n_train, n_val, **run.record(recipe))


def train(params: Params, split_dir: Path, features_dir: Path, out: Path, checkpoints: Path | None = None) -> dict:
    """Train ``params.model``; with ``checkpoints``, resume from and save epoch checkpoints there."""
    from .finetune import train_finetune
    from .probe import train_linear_probe

    trainers = {"keras": train_keras, "linear_probe": train_linear_probe, "finetune": train_finetune}
    return trainers[MODELS[params.model].trainer](
        params, prepare(params), Path(split_dir), Path(features_dir), Path(out), checkpoints
    )
