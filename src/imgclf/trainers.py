"""One trainer per ``model`` name; each writes ``model.keras`` and returns a summary for train.json."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from .arrays import read_classes, read_embeddings
from .heads import build_head, embedding_stats
from .io import atomic_file
from .params import Params
from .training import compile_classifier, fit_classifier, make_optimizer, one_hot


def save_model(model: keras.Model, path: Path) -> None:
    with atomic_file(path) as tmp:
        model.save(tmp)


def train_head(params: Params, split_dir: Path, features_dir: Path, out: Path) -> dict:
    recipe = params.models.head
    keras.utils.set_random_seed(params.seed)
    classes = read_classes(split_dir)
    x_train, y_train = read_embeddings(features_dir, split_dir, "train")
    x_val, y_val = read_embeddings(features_dir, split_dir, "val")
    mean, variance = embedding_stats(x_train)
    model = build_head(
        x_train.shape[1], len(classes), recipe.hidden_units, recipe.dropout, mean, variance, params.seed
    )
    compile_classifier(
        model, make_optimizer(recipe.optimizer, recipe.learning_rate, recipe.weight_decay), recipe.label_smoothing
    )
    result = fit_classifier(
        model,
        (x_train, one_hot(y_train, len(classes))),
        (x_val, one_hot(y_val, len(classes))),
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        patience=recipe.patience,
        live_dir=out / "live",
    )
    save_model(model, out / "model.keras")
    return {
        "model": "head",
        "input": "embeddings",
        "params": int(model.count_params()),
        "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "train_images": int(len(x_train)),
        "val_images": int(len(x_val)),
        **vars(result),
    }


TRAINERS = {"head": train_head}


def train(params: Params, split_dir: Path, features_dir: Path, out: Path) -> dict:
    return TRAINERS[params.model](params, split_dir, features_dir, out)

