"""Run a trained model from the train stage's folder over a split."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.arrays import read_embeddings, read_split
from ..errors import DataError
from ..io import load_array, read_json
from ..models.loading import load_model
from ..progress import bar
from .metrics import softmax
from .tta import PICTURES_ONLY, view_of, views


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


def tta_probabilities(train_dir: Path, split_dir: Path, features_dir: Path, tta: str = "none", batch_size: int = 256):
    """(labels, probabilities) on the test split, averaged over the views ``tta`` names (evaluation/tta.py).

    A model of pictures sees each view of the pictures; a model of embeddings, the
    cached embeddings of the test pictures and of their mirrors (``test_flip.npy``). The model is loaded once.
    """
    summary, model = _load(train_dir)
    if summary["input"] == "embeddings" and tta in PICTURES_ONLY:
        raise DataError(f"evaluate.tta: {tta} needs a model of pictures; {train_dir} holds a model of embeddings")
    chosen = views(tta)
    x, labels, logits = _split_logits(summary, model, split_dir, features_dir, "test", batch_size)
    probs = np.zeros(logits.shape, np.float64)
    with bar(len(labels) * len(chosen), desc=f"test views ({tta})", unit="img") as progress:
        for view in chosen:  # one update a view: the six of flip_translate take about 1.5 minutes on CIFAR-10
            if not view.mirror and view.shift == 0:
                seen = logits
            elif summary["input"] == "embeddings":
                seen = _logits(model, _mirrored_embeddings(features_dir), batch_size)
            else:
                seen = _logits(model, view_of(np.asarray(x), view), batch_size)
            probs += view.weight * softmax(seen)
            progress.update(len(labels))
    return labels, probs


def _logits(model, x, batch_size: int) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), np.float64)


def _mirrored_embeddings(features_dir: Path) -> np.ndarray:
    path = Path(features_dir) / "test_flip.npy"
    if not path.exists():
        raise DataError(f"{path}: no mirrored test embeddings for evaluate.tta: flip; rerun featurize")
    return np.asarray(load_array(path), np.float32)
