"""One trainer per ``model`` name; each writes ``model.keras`` and returns a summary for train.json."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from .arrays import read_classes, read_split
from .heads import build_head, embedding_stats
from .io import atomic_file, load_array
from .params import Params
from .training import compile_classifier, fit_classifier, make_optimizer, one_hot


def load_embeddings(features_dir: Path, split_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(float32 embeddings, int labels) of one split; the two must line up row for row."""
    vectors = load_array(Path(features_dir) / f"{split}.npy")
    _, labels = read_split(split_dir, split)
    if len(vectors) != len(labels):
        from .errors import DataError

        raise DataError(
            f"{features_dir}/{split}.npy has {len(vectors)} rows but {split} has {len(labels)} labels; rerun featurize"
        )
    return np.asarray(vectors, dtype=np.float32), labels


def save_model(model: keras.Model, path: Path) -> None:
    with atomic_file(path) as tmp:
        model.save(tmp)


def train_head(params: Params, split_dir: Path, features_dir: Path, out: Path) -> dict:
    recipe = params.models.head
    keras.utils.set_random_seed(params.seed)
    classes = read_classes(split_dir)
    x_train, y_train = load_embeddings(features_dir, split_dir, "train")
    x_val, y_val = load_embeddings(features_dir, split_dir, "val")
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


def predict(train_dir: Path, split_dir: Path, features_dir: Path, split: str = "test", batch_size: int = 256):
    """(labels, logits) of a split under the trained model, whichever input it takes."""
    from . import layers  # noqa: F401  registers the custom layers before loading
    from .io import read_json

    summary = read_json(Path(train_dir) / "train.json")
    model = keras.models.load_model(Path(train_dir) / "model.keras")
    if summary["input"] == "embeddings":
        x, labels = load_embeddings(features_dir, split_dir, split)
    else:
        x, labels = read_split(split_dir, split)
    logits = model.predict(x, batch_size=batch_size, verbose=0)
    return labels, np.asarray(logits, dtype=np.float64)
