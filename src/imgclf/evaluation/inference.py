"""Run a trained model from the train stage's folder over a split."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from ..data.arrays import read_embeddings, read_split
from ..errors import DataError
from ..features.preprocessing import ImageNetPreprocess  # noqa: F401  registered on import, needed to load
from ..io import load_array, read_json
from ..models.layers import GroupedConv2D  # noqa: F401
from .metrics import softmax


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


def tta_probabilities(train_dir: Path, split_dir: Path, features_dir: Path, tta: str = "none", batch_size: int = 256):
    """(labels, probabilities) on the test split; ``tta: flip`` averages each picture with its mirror.

    A model of pictures sees the mirrored pictures; a model of embeddings, the
    cached embeddings of the mirrored test pictures (``test_flip.npy``).
    """
    labels, logits = predict(train_dir, split_dir, features_dir, "test", batch_size)
    probs = softmax(logits)
    if tta == "none":
        return labels, probs
    summary = read_json(Path(train_dir) / "train.json")
    model = keras.models.load_model(Path(train_dir) / "model.keras", compile=False)
    if summary["input"] == "embeddings":
        path = Path(features_dir) / "test_flip.npy"
        if not path.exists():
            raise DataError(f"{path}: no mirrored test embeddings for evaluate.tta: flip; rerun featurize")
        mirrored = np.asarray(load_array(path), np.float32)
    else:
        mirrored = np.asarray(read_split(split_dir, "test")[0])[:, :, ::-1]
    flipped = softmax(np.asarray(model.predict(mirrored, batch_size=batch_size, verbose=0), np.float64))
    return labels, (probs + flipped) / 2
