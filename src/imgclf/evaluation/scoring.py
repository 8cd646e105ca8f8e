"""The one computation evaluate scores and export writes: the trained model from uint8 pictures to class
probabilities, with its test-time views inside it.

A model trained on the embedding cache (the probe, the head) gets the featurize backbone, with its pixel
scaling and resize, in front of it: rebuilt from the manifest (which records the seed a random init was drawn
from), so it is the very network whose embeddings the cache holds. A model of pictures loses its augmentation
block, which acts only in training but would leave random ops in an exported graph; the weights are the same
objects. With ``evaluate.tta``, the views of each picture (evaluation/tta.py) are stacked into one batch, the
network runs once on them, and their logits are averaged with the views' weights before the softmax (airbench's
test, Jordan 2024).

Evaluate runs this model on the test pictures. For a model of embeddings it runs the same head on the cached
test embeddings instead (their mirrors' for the flip), which is the same computation in float32 where the
backbone reproduces the cache (tests/evaluation/test_scoring.py holds the two together): the cache's speed, not
a second definition.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from scipy.special import softmax

from ..data.arrays import read_embeddings, read_split
from ..errors import DataError
from ..features.manifest import FeatureManifest
from ..io import load_array, read_json
from ..models.layers import StackViews, WeighViews
from ..models.loading import load_model
from ..progress import bar
from .tta import PICTURES_ONLY, views

AUGMENT = "augment"  # the name models.classifier gives the augmentation block


def without_augmentation(model: keras.Model) -> keras.Model:
    """The part of ``model`` after its augmentation block (the whole model if it has none)."""
    names = [layer.name for layer in model.layers]
    if AUGMENT not in names:
        return model
    return keras.Model(model.get_layer(AUGMENT).output, model.output, name=f"{model.name}_inference")


def featurizer_from(manifest: FeatureManifest, input_size: int) -> keras.Model:
    """The featurize stage's network, rebuilt from its manifest, in float32 (the test embeddings')."""
    from ..features.backbones import resolve_weights
    from ..features.featurize import build_featurizer
    from ..features.params import FeaturesParams

    params = FeaturesParams(
        backbone=manifest.backbone, weights=manifest.weights, alpha=manifest.alpha, image_size=manifest.image_size
    )
    weights, _ = resolve_weights(manifest.backbone, manifest.weights, manifest.alpha, manifest.image_size)
    return build_featurizer(params, (input_size, input_size, 3), weights, manifest.seed)


def logits_of_pictures(train_dir: Path, features_dir: Path, input_size: int) -> keras.Model:
    """uint8 pictures (N, S, S, 3) -> logits (N, classes), whatever the train stage trained."""
    summary = read_json(Path(train_dir) / "train.json")
    inputs = keras.Input((input_size, input_size, 3), dtype="uint8", name="images")
    if summary["input"] == "embeddings":
        x = featurizer_from(FeatureManifest.load(features_dir), input_size)(inputs)
        logits = load_model(Path(train_dir) / "model.keras")(x)
    else:
        logits = without_augmentation(load_model(Path(train_dir) / "model.keras"))(keras.ops.cast(inputs, "float32"))
    if isinstance(logits, list | tuple):  # a model saved with lists of one tensor as its outputs
        (logits,) = logits
    return keras.Model(inputs, logits, name=f"{summary.get('model', 'model')}_logits")


def with_views(logits_model: keras.Model, tta: str) -> keras.Model:
    """``logits_model``'s logits averaged over the views ``tta`` names (itself for ``none``): the views stacked
    into one batch, the network run once on it, the mean taken with the views' weights."""
    chosen = views(tta)
    if len(chosen) == 1:
        return logits_model
    inputs = keras.Input(logits_model.input.shape[1:], dtype=logits_model.input.dtype, name="images")
    stacked = StackViews([(v.mirror, v.shift) for v in chosen], name=f"{tta}_views")(inputs)
    averaged = WeighViews([v.weight for v in chosen], name=f"{tta}_mean")(logits_model(stacked))
    return keras.Model(inputs, averaged, name=f"{logits_model.name}_{tta}_tta")


def scoring_model(train_dir: Path, features_dir: Path, input_size: int, tta: str = "none") -> keras.Model:
    """pixels (N, input_size, input_size, 3) uint8 -> probabilities (N, classes) float32, views included."""
    logits = with_views(logits_of_pictures(train_dir, features_dir, input_size), tta)
    summary = read_json(Path(train_dir) / "train.json")
    inputs = keras.Input((input_size, input_size, 3), dtype="uint8", name="images")
    probabilities = keras.layers.Softmax(dtype="float32", name="probabilities")(logits(inputs))
    return keras.Model(inputs, probabilities, name=f"{summary.get('model', 'model')}_end_to_end")


def scored_probabilities(
    train_dir: Path, split_dir: Path, features_dir: Path, tta: str = "none", batch_size: int = 256
):
    """(labels, probabilities) of the test split: ``scoring_model`` on its pictures, or for a model of
    embeddings its head on the cached ones (plain and mirrored), weighted as ``tta``'s views."""
    summary = read_json(Path(train_dir) / "train.json")
    if summary["input"] == "embeddings":
        return _cached(train_dir, split_dir, features_dir, tta, batch_size)
    images, labels = read_split(split_dir, "test")
    model = scoring_model(train_dir, features_dir, int(images.shape[1]), tta)
    chosen = len(views(tta))
    probs = []
    with bar(len(labels) * chosen, desc=f"test views ({tta})", unit="img") as progress:
        for start in range(0, len(labels), batch_size):  # a bar per batch: six views take minutes on CIFAR-10
            batch = np.asarray(images[start : start + batch_size])
            probs.append(np.asarray(model.predict_on_batch(batch), np.float64))
            progress.update(len(batch) * chosen)
    return labels, np.concatenate(probs)


def _cached(train_dir: Path, split_dir: Path, features_dir: Path, tta: str, batch_size: int):
    if tta in PICTURES_ONLY:
        raise DataError(f"evaluate.tta: {tta} needs a model of pictures; {train_dir} holds a model of embeddings")
    head = load_model(Path(train_dir) / "model.keras")
    embeddings, labels = read_embeddings(features_dir, split_dir, "test")
    logits = 0.0
    for view in views(tta):
        x = _mirrored_embeddings(features_dir) if view.mirror else embeddings
        logits = logits + view.weight * np.asarray(head.predict(x, batch_size=batch_size, verbose=0), np.float64)
    return labels, softmax(logits, axis=1)


def _mirrored_embeddings(features_dir: Path) -> np.ndarray:
    path = Path(features_dir) / "test_flip.npy"
    if not path.exists():
        raise DataError(f"{path}: no mirrored test embeddings for evaluate.tta: flip; rerun featurize")
    return np.asarray(load_array(path), np.float32)
