"""The featurize backbone fine-tuned end to end: the cached backbone, trainable from ``fine_tune_at``, with a head.

Trained its own way, in two phases: the head on the cached embeddings first
(seconds), then the whole network at a lower learning rate.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..constraints import POSITIVE, UNIT_INTERVAL, AutoOr, Number, OneOf, param
from ..errors import ParamsError
from ..training.recipe import OPTIMIZERS, SCHEDULES, Augment, Optimization
from ..training.spec import ModelSpec
from .head import HeadParams

if TYPE_CHECKING:
    import keras

    from ..features.manifest import FeatureManifest
    from ..params import Params
    from ..training.spec import Trained
    from ..training.trainers import Run


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


def finetune_backbone(
    manifest: FeatureManifest, fine_tune_at: int | str, seed: int, batchnorm: str = "frozen"
) -> keras.Model:
    """The featurize stage's backbone, trainable from layer ``fine_tune_at`` on; its BatchNormalization
    layers there too when ``batchnorm`` is 'adapted' (else they keep ImageNet's statistics and scales).

    Built from the manifest (backbone, weights, alpha, size) and ``seed``, so it is
    the very network whose embeddings the cache holds, random init included.
    """
    import keras

    from ..features.backbones import build_backbone, resolve_weights
    from ..features.catalog import BACKBONES

    weights, _ = resolve_weights(manifest.backbone, manifest.weights, manifest.alpha, manifest.image_size)
    backbone = build_backbone(manifest.backbone, weights, manifest.alpha, manifest.image_size, seed)
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


def phase(number: int, what: str) -> None:
    """Named in the log before the phase's own "Epoch 1/N" lines."""
    print(f"finetune, phase {number} of 2: {what}", flush=True)


def train(params: Params, run: Run, split_dir: Path, features_dir: Path, out: Path, checkpoints=None) -> Trained:
    """Phase 1: the head on the cached embeddings. Phase 2: backbone and head end to end on the pictures."""
    from ..data.arrays import read_classes, read_split
    from ..features.manifest import FeatureManifest
    from ..training.batches import Batches
    from ..training.fit import fit_classifier
    from ..training.saving import inference_view, save_model
    from ..training.spec import Trained
    from ..training.trainers import checkpoint_phase, fit_built, summary
    from .head import SPEC as HEAD

    manifest = FeatureManifest.load(features_dir)
    recipe = run.scaled(params.models.finetune.resolved(manifest.backbone))
    (images, labels), (val_images, val_labels) = (read_split(split_dir, s) for s in ("train", "val"))
    classes = len(read_classes(split_dir))
    head_key, head_recipe = "models.finetune.head", run.scaled(recipe.head)
    phase(1, f"the head on the cached embeddings, {head_recipe.epochs} epochs at most")
    head, head_result, _, _ = fit_built(
        HEAD,
        head_recipe,
        head_key,
        params,
        run,
        split_dir,
        features_dir,
        out / "live_head",
        checkpoint_phase(checkpoints, "head"),
    )
    augment = recipe.augment
    mixing = (augment.mixup_alpha, augment.cutmix_alpha)
    alternate = augment.flip == "alternating"
    train_batches = Batches(images, labels, classes, recipe.batch_size, params.seed, *mixing, alternate_flip=alternate)
    val_batches = Batches(val_images, val_labels, classes, recipe.batch_size)
    phase(
        2,
        f"{manifest.backbone} from layer {recipe.fine_tune_at} on and the head, on the pictures, {recipe.epochs} epochs",
    )
    with run.building():
        backbone = finetune_backbone(manifest, recipe.fine_tune_at, params.seed, recipe.batchnorm)
        # The head was compiled for phase 1; an uncompiled view keeps its optimizer out of the saved model.
        model = finetune_model(
            manifest, backbone, inference_view(head), images.shape[1], augment, params.seed, recipe.batchnorm
        )
        result = fit_classifier(
            model,
            recipe,
            params.train,
            train_batches,
            val_batches,
            out / "live",
            "models.finetune",
            checkpoint_phase(checkpoints, "main"),
            process=run.process,
        )
    save_model(model, out / "model.keras")
    chosen = {k: getattr(recipe, k) for k in (*AUTO_RECIPES[""], "fine_tune_at")}  # what auto became, as run
    extra = {"backbone": manifest.backbone, "recipe_used": chosen, "head_phase": head_result.outcome()}
    report = summary(model, "finetune", "images", result, len(labels), len(val_labels), **run.record(recipe), **extra)
    return Trained(report, both_phases_timing(head_result, result))


def both_phases_timing(head, main) -> dict:
    """``seconds``: both phases, what the run cost (the leaderboard's train minutes); the epochs and
    pictures/s: phase 2's; the curve: both on one clock."""
    return {
        **main.timing(),
        "seconds": round(head.seconds + main.seconds, 3),
        "fine_tune_seconds": main.seconds,
        "head_phase": head.timing(),
        "curve": joined_curve(head.curve, main.curve),
    }


def joined_curve(head: list[dict], main: list[dict]) -> list[dict]:
    """Both phases' epochs on one clock, each marked with its phase: the accuracy-against-minutes plot."""
    offset = head[-1]["minutes"] if head else 0.0
    return [{**c, "phase": "head"} for c in head] + [
        {**c, "minutes": round(c["minutes"] + offset, 3), "phase": "fine-tune"} for c in main
    ]


SMALL = {"epochs": 1, "batch_size": 32, "head": {"epochs": 3, "hidden_units": [32]}}
SPEC = ModelSpec(FinetuneParams, "images", train=train, small=SMALL)
