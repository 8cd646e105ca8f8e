"""Whatever ``model`` trained, one Keras model from uint8 pictures to class probabilities.

A model trained on the embedding cache (the probe, the head) gets the featurize
backbone, with its pixel scaling and resize, in front of it: rebuilt from the
manifest (which records the seed a random init was drawn from), so it is the
very network whose embeddings the cache holds. A model of pictures loses its augmentation block, which acts only
in training but would leave random ops in an exported graph; the weights are
the same objects. With ``evaluate.tta`` set, the model averages the probabilities
of each picture's views (evaluation/tta.py), as evaluate scored them, so the
exported files and ``imgclf predict`` give the figures in metrics/eval.json.
"""

from __future__ import annotations

from pathlib import Path

import keras

from ..evaluation.tta import views
from ..features.manifest import FeatureManifest
from ..io import read_json
from ..models.layers import StackViews, WeighViews
from ..models.loading import load_model

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


def end_to_end_model(train_dir: Path, features_dir: Path, input_size: int, tta: str = "none") -> keras.Model:
    """pixels (N, input_size, input_size, 3) uint8 -> probabilities (N, classes) float32."""
    summary = read_json(Path(train_dir) / "train.json")
    inputs = keras.Input((input_size, input_size, 3), dtype="uint8", name="images")
    if summary["input"] == "embeddings":
        x = featurizer_from(FeatureManifest.load(features_dir), input_size)(inputs)
        logits = load_model(Path(train_dir) / "model.keras")(x)
    else:
        logits = without_augmentation(load_model(Path(train_dir) / "model.keras"))(keras.ops.cast(inputs, "float32"))
    if isinstance(logits, list | tuple):  # a model saved with lists of one tensor as its outputs
        (logits,) = logits
    probabilities = keras.layers.Softmax(dtype="float32", name="probabilities")(logits)
    model = keras.Model(inputs, probabilities, name=f"{summary['model']}_end_to_end")
    return with_tta(model, tta)


def with_tta(model: keras.Model, tta: str) -> keras.Model:
    """``model``'s probabilities averaged over the views ``tta`` names (``model`` itself for ``none``): the views
    stacked into one batch, ``model`` run once on it, the mean taken with the views' weights."""
    chosen = views(tta)
    if len(chosen) == 1:
        return model
    inputs = keras.Input(model.input.shape[1:], dtype=model.input.dtype, name="images")
    stacked = StackViews([(v.mirror, v.shift) for v in chosen], name=f"{tta}_views")(inputs)
    averaged = WeighViews([v.weight for v in chosen], name=f"{tta}_mean")(model(stacked))
    return keras.Model(inputs, averaged, name=f"{model.name}_{tta}_tta")
