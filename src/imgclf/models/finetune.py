"""The featurize backbone fine-tuned end to end: the cached backbone, trainable from ``fine_tune_at``, with a head.

Trained in two phases (see ``training.finetune``): the head on the cached
embeddings first, then the whole network at a low learning rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..constraints import POSITIVE, AutoOr, Number, OneOf, param
from ..errors import ParamsError
from .head import HeadParams
from .recipe import OPTIMIZERS, SCHEDULES, Augment, Optimization

if TYPE_CHECKING:
    import keras

    from ..features.manifest import FeatureManifest


@dataclass(frozen=True)
class FinetuneParams(Optimization):
    head: HeadParams = field(default_factory=HeadParams)  # phase 1, on the cached embeddings
    fine_tune_at: int | str = param("auto", AutoOr(Number(int, 0)))  # backbone layers before it stay frozen
    epochs: int = param(3, Number(int, 1))
    batch_size: int = param(64, Number(int, 1))
    optimizer: str = param("adam", OneOf(OPTIMIZERS))
    learning_rate: float = param(0.00001, POSITIVE)
    weight_decay: float = param(0.0, Number(float, 0))
    schedule: str = param("cosine", OneOf(SCHEDULES))
    augment: Augment = field(default_factory=Augment)


def finetune_backbone(manifest: FeatureManifest, fine_tune_at: int | str) -> keras.Model:
    """The featurize stage's backbone, trainable from layer ``fine_tune_at`` on, BatchNormalization frozen.

    Built from the manifest (backbone, weights, alpha, size), so under the same
    seed it is the very network whose embeddings the cache holds, random init included.
    """
    import keras

    from ..features.backbones import build_backbone, resolve_weights
    from ..features.catalog import BACKBONES

    weights, _ = resolve_weights(manifest.backbone, manifest.weights, manifest.alpha, manifest.image_size)
    backbone = build_backbone(manifest.backbone, weights, manifest.alpha, manifest.image_size)
    if fine_tune_at == "auto":
        fine_tune_at = BACKBONES[manifest.backbone].default_fine_tune_at()
    if fine_tune_at >= len(backbone.layers):
        raise ParamsError(
            f"models.finetune.fine_tune_at must be below the {len(backbone.layers)} layers of "
            f"{manifest.backbone}; got {fine_tune_at}"
        )
    backbone.trainable = True
    for i, layer in enumerate(backbone.layers):
        layer.trainable = i >= fine_tune_at and not isinstance(layer, keras.layers.BatchNormalization)
    return backbone


def finetune_model(
    manifest: FeatureManifest, backbone: keras.Model, head: keras.Model, input_size: int, augment: Augment, seed: int
) -> keras.Model:
    """pixels -> augment -> ImageNet scaling -> resize -> backbone -> head, the backbone in inference mode.

    Calling the backbone with ``training=False`` keeps every BatchNormalization layer
    on its ImageNet moving statistics, never updated: the fix for the collapse of a
    frozen ResNet50 with a new head (validation accuracy falling from ~50% to ~30%).
    """
    import keras

    from ..features.preprocessing import ImageNetPreprocess
    from .classifier import augmentation

    inputs = keras.Input((input_size, input_size, 3), name="pixels")
    augmenter = augmentation(augment, input_size, seed)
    x = augmenter(inputs) if augmenter is not None else inputs
    x = ImageNetPreprocess(manifest.preprocessing, name="imagenet_scale")(x)
    if input_size != manifest.image_size:
        x = keras.layers.Resizing(manifest.image_size, manifest.image_size, name="resize")(x)
    x = backbone(x, training=False)
    return keras.Model(inputs, head(x), name=f"{manifest.backbone}_finetune")
