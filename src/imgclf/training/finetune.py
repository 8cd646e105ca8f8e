"""Fine-tuning's trainer (models/finetune.py builds its networks): the head on the cached embeddings first, then
the backbone and head end to end on the pictures, each phase checkpointed, timed and logged apart."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..data.arrays import read_classes, read_split
from ..features.manifest import FeatureManifest
from ..models.finetune import AUTO_RECIPES, finetune_backbone, finetune_model
from ..models.head import SPEC as HEAD
from .batches import Batches
from .fit import fit_classifier
from .saving import inference_view, save_model
from .trained import Trained
from .trainers import checkpoint_phase, fit_built, summary

if TYPE_CHECKING:
    from .job import TrainingJob


def phase(number: int, what: str) -> None:
    """Named in the log before the phase's own "Epoch 1/N" lines."""
    print(f"finetune, phase {number} of 2: {what}", flush=True)


def train(job: TrainingJob, split_dir: Path, features_dir: Path, out: Path, checkpoints=None) -> Trained:
    """Phase 1: the head on the cached embeddings. Phase 2: backbone and head end to end on the pictures."""
    manifest = FeatureManifest.load(features_dir)
    recipe = job.scaled(job.recipe.resolved(manifest.backbone))
    (images, labels), (val_images, val_labels) = (read_split(split_dir, s) for s in ("train", "val"))
    classes = len(read_classes(split_dir))
    head_key, head_recipe = "models.finetune.head", job.scaled(recipe.head)
    phase(1, f"the head on the cached embeddings, {head_recipe.epochs} epochs at most")
    head, head_result, _, _ = fit_built(
        HEAD,
        head_recipe,
        head_key,
        job,
        split_dir,
        features_dir,
        out / "live_head",
        checkpoint_phase(checkpoints, "head"),
    )
    augment = recipe.augment
    mixing = (augment.mixup_alpha, augment.cutmix_alpha)
    alternate = augment.flip == "alternating"
    train_batches = Batches(images, labels, classes, recipe.batch_size, job.seed, *mixing, alternate_flip=alternate)
    val_batches = Batches(val_images, val_labels, classes, recipe.batch_size)
    phase(
        2,
        f"{manifest.backbone} from layer {recipe.fine_tune_at} on and the head, on the pictures, {recipe.epochs} epochs",
    )
    with job.building():
        backbone = finetune_backbone(manifest, recipe.fine_tune_at, recipe.batchnorm)
        # The head was compiled for phase 1; an uncompiled view keeps its optimizer out of the saved model.
        model = finetune_model(
            manifest, backbone, inference_view(head), images.shape[1], augment, job.seed, recipe.batchnorm
        )
        result = fit_classifier(
            model,
            recipe,
            job.runtime.jit_compile,
            train_batches,
            val_batches,
            out / "live",
            "models.finetune",
            checkpoint_phase(checkpoints, "main"),
            process=job.process,
        )
    save_model(model, out / "model.keras")
    chosen = {k: getattr(recipe, k) for k in (*AUTO_RECIPES[""], "fine_tune_at")}  # what auto became, as run
    extra = {"backbone": manifest.backbone, "recipe_used": chosen, "head_phase": head_result.outcome()}
    report = summary(model, "finetune", "images", result, len(labels), len(val_labels), **job.record(recipe), **extra)
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
