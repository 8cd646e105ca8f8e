"""Fine-tuning in two phases: the head on the cached embeddings (seconds), then end to end at a low rate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..data.arrays import read_classes, read_split
from ..features.manifest import FeatureManifest
from ..models.finetune import finetune_backbone, finetune_model
from ..models.registry import MODELS
from ..models.saving import inference_view, save_model
from .batches import Batches
from .fit import fit_classifier
from .trainers import Run, checkpoint_phase, fit_built, summary

if TYPE_CHECKING:
    from ..params import Params


def train_finetune(params: Params, run: Run, split_dir: Path, features_dir: Path, out: Path, checkpoints=None) -> dict:
    recipe = run.scaled(params.models.finetune)
    manifest = FeatureManifest.load(features_dir)
    images, labels = read_split(split_dir, "train")
    val_images, val_labels = read_split(split_dir, "val")
    classes = len(read_classes(split_dir))
    with run.placement.scope():
        backbone = finetune_backbone(manifest, recipe.fine_tune_at)  # first: the seed state featurize built it in
        head, head_result, _, _ = fit_built(
            MODELS["head"],
            run.scaled(recipe.head),
            "models.finetune.head",
            params,
            split_dir,
            features_dir,
            out / "live_head",
            checkpoint_phase(checkpoints, "head"),
        )
        # The head was compiled for phase 1; an uncompiled view keeps its optimizer out of the saved model.
        model = finetune_model(manifest, backbone, inference_view(head), images.shape[1], recipe.augment, params.seed)
        augment = recipe.augment
        train = Batches(
            images, labels, classes, recipe.batch_size, params.seed, augment.mixup_alpha, augment.cutmix_alpha
        )
        val = Batches(val_images, val_labels, classes, recipe.batch_size)
        result = fit_classifier(
            model,
            recipe,
            params.train,
            train,
            val,
            out / "live",
            "models.finetune",
            checkpoint_phase(checkpoints, "main"),
        )
    save_model(model, out / "model.keras")
    report = summary(
        model,
        "finetune",
        "images",
        result,
        len(labels),
        len(val_labels),
        **run.record(recipe),
        backbone=manifest.backbone,
        head_phase=head_result.outcome(),
    )
    report["timing"]["head_phase"] = head_result.timing()
    return report
