"""The featurize backbone fine-tuned end to end: the cached backbone, trainable from ``fine_tune_at``, with a head.

Trained its own way (training/finetune.py), in two phases: the head on the cached
embeddings first (seconds), then the whole network at a lower learning rate.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..constraints import POSITIVE, UNIT_INTERVAL, AutoOr, Number, OneOf, param
from ..errors import ParamsError
from .head import HeadParams
from .recipe import OPTIMIZERS, SCHEDULES, Augment, Optimization
from .spec import ModelSpec

if TYPE_CHECKING:
    import keras

    from ..features.manifest import FeatureManifest


# What ``auto`` means per backbone family (the longest matching prefix of features.backbone). ResNet: the
# recipe the project has documented from the start (the keras-io transfer-learning guide: Adam at 1e-5 from
# conv5 for a few epochs). MobileNet: measured on CIFAR-10 with the ImageNet MobileNet-0.25 (docs/measured.md):
# adapted BatchNormalization took test top-1 from 0.854 (frozen, 20 epochs) to 0.882 in 12 epochs, each 2.2x
# slower, so the fine-tune stays under 30 minutes on 2 CPU cores.
# Any other backbone: an estimate, between the two, not measured.
AUTO_RECIPES = {
    "resnet": {
        "epochs": 3,
        "optimizer": "adam",
        "learning_rate": 1e-5,
        "warmup_epochs": 0.0,
        "label_smoothing": 0.0,
        "batchnorm": "frozen",
    },
    "mobilenet": {
        "epochs": 12,
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "warmup_epochs": 1.0,
        "label_smoothing": 0.1,
        "batchnorm": "adapted",
    },
    "": {
        "epochs": 10,
        "optimizer": "adam",
        "learning_rate": 1e-4,
        "warmup_epochs": 1.0,
        "label_smoothing": 0.1,
        "batchnorm": "frozen",
    },
}
BATCHNORM = ("frozen", "adapted")


@dataclass(frozen=True)
class FinetuneParams(Optimization):
    head: HeadParams = field(default_factory=HeadParams)  # phase 1, on the cached embeddings
    fine_tune_at: int | str = param("auto", AutoOr(Number(int, 0)))  # backbone layers before it stay frozen
    epochs: int | str = param("auto", AutoOr(Number(int, 1)))
    batch_size: int = param(64, Number(int, 1))
    optimizer: str = param("auto", OneOf(("auto", *OPTIMIZERS)))
    learning_rate: float | str = param("auto", AutoOr(POSITIVE))
    weight_decay: float = param(0.0, Number(float, 0))
    schedule: str = param("cosine", OneOf(SCHEDULES))
    warmup_epochs: float | str = param("auto", AutoOr(Number(float, 0)))
    label_smoothing: float | str = param("auto", AutoOr(UNIT_INTERVAL))
    # frozen: ImageNet statistics and scales, inference mode; adapted: trained, batch statistics while training
    batchnorm: str = param("auto", OneOf(("auto", *BATCHNORM)))
    augment: Augment = field(default_factory=Augment)

    def resolved(self, backbone: str) -> FinetuneParams:
        """The recipe with each ``auto`` replaced by the value for ``backbone``'s family (``AUTO_RECIPES``)."""
        from ..features.catalog import BACKBONES

        family = max((k for k in AUTO_RECIPES if backbone.startswith(k)), key=len)
        chosen = {k: v for k, v in AUTO_RECIPES[family].items() if getattr(self, k) == "auto"}
        if self.fine_tune_at == "auto":
            chosen["fine_tune_at"] = BACKBONES[backbone].default_fine_tune_at()
        return dataclasses.replace(self, **chosen)


def finetune_backbone(manifest: FeatureManifest, fine_tune_at: int | str, batchnorm: str = "frozen") -> keras.Model:
    """The featurize stage's backbone, trainable from layer ``fine_tune_at`` on; its BatchNormalization
    layers there too when ``batchnorm`` is 'adapted' (else they keep ImageNet's statistics and scales).

    Built from the manifest (backbone, weights, alpha, size and the seed of a random
    init), so it is the very network whose embeddings the cache holds.
    """
    import keras

    from ..features.backbones import build_backbone, resolve_weights
    from ..features.catalog import BACKBONES

    weights, _ = resolve_weights(manifest.backbone, manifest.weights, manifest.alpha, manifest.image_size)
    backbone = build_backbone(manifest.backbone, weights, manifest.alpha, manifest.image_size, manifest.seed)
    if fine_tune_at == "auto":
        fine_tune_at = BACKBONES[manifest.backbone].default_fine_tune_at()
    if fine_tune_at >= len(backbone.layers):
        raise ParamsError(
            f"models.finetune.fine_tune_at must be below the {len(backbone.layers)} layers of "
            f"{manifest.backbone}; got {fine_tune_at}"
        )
    backbone.trainable = True
    for i, layer in enumerate(backbone.layers):
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = i >= fine_tune_at and (batchnorm == "adapted" or not is_bn)
    return backbone


def finetune_model(
    manifest: FeatureManifest,
    backbone: keras.Model,
    head: keras.Model,
    input_size: int,
    augment: Augment,
    seed: int,
    batchnorm: str = "frozen",
) -> keras.Model:
    """pixels -> augment -> the featurize graph (scaling, resize, backbone) -> head.

    The backbone runs in inference mode unless ``batchnorm`` is 'adapted': then its
    trainable BatchNormalization layers use batch statistics in training, as in
    training from scratch, and their moving statistics follow the new pictures.
    """
    import keras

    from ..features.backbones import on_pixels
    from .classifier import augmentation

    inputs = keras.Input((input_size, input_size, 3), name="pixels")
    augmenter = augmentation(augment, input_size, seed)
    x = augmenter(inputs) if augmenter is not None else inputs
    x = on_pixels(
        x, manifest.backbone, manifest.image_size, backbone, training=None if batchnorm == "adapted" else False
    )
    return keras.Model(inputs, head(x), name=f"{manifest.backbone}_finetune")


SMALL = {"epochs": 1, "batch_size": 32, "head": {"epochs": 3, "hidden_units": [32]}}
SPEC = ModelSpec(FinetuneParams, "images", trainer="finetune", small=SMALL)
