"""Run a trained model from the train stage's folder over a split."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from ..data.arrays import read_embeddings, read_split
from ..features.preprocessing import ImageNetPreprocess  # noqa: F401  registered on import, needed to load
from ..io import read_json
from ..models.layers import GroupedConv2D  # noqa: F401


def predict(train_dir: Path, split_dir: Path, features_dir: Path, split: str = "test", batch_size: int = 256):
    """(labels, logits) of a split, whichever input (embeddings or images) the model takes."""
    summary = read_json(Path(train_dir) / "train.json")
    model = keras.models.load_model(Path(train_dir) / "model.keras", compile=False)  # inference only
    if summary["input"] == "embeddings":
        x, labels = read_embeddings(features_dir, split_dir, split)
    else:
        x, labels = read_split(split_dir, split)
    logits = model.predict(x, batch_size=batch_size, verbose=0)
    return labels, np.asarray(logits, dtype=np.float64)
