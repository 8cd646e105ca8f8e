"""The trained model's logits on a split, as the train stage left it (no test-time views: ``scoring``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.arrays import read_embeddings, read_split
from ..io import read_json
from ..models.loading import load_model


def _load(train_dir: Path):
    summary = read_json(Path(train_dir) / "train.json")
    return summary, load_model(Path(train_dir) / "model.keras")


def _split_logits(summary, model, split_dir, features_dir, split, batch_size):
    if summary["input"] == "embeddings":
        x, labels = read_embeddings(features_dir, split_dir, split)
    else:
        x, labels = read_split(split_dir, split)
    return x, labels, _logits(model, x, batch_size)


def predict(train_dir: Path, split_dir: Path, features_dir: Path, split: str = "test", batch_size: int = 256):
    """(labels, logits) of a split, whichever input (embeddings or images) the model takes."""
    _, labels, logits = _split_logits(*_load(train_dir), split_dir, features_dir, split, batch_size)
    return labels, logits


def _logits(model, x, batch_size: int) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), np.float64)
