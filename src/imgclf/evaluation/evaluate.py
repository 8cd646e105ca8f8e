"""The evaluate stage's library side: score the test split and write every table and picture under ``out``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..data.arrays import read_classes, read_names, read_split
from ..io import atomic_file, read_json, write_json, write_table
from .calibration import reliability_table
from .gallery import draw_gallery
from .metrics import classification_metrics, confusion_pairs, per_class_table, predictions_table
from .reports import check_classes, history_table, run_record, train_record

if TYPE_CHECKING:
    from .params import EvaluateParams

OUTPUTS = ("eval.json", "per_class.csv", "confusion.csv", "history.csv", "calibration.csv", "predictions.csv")
GALLERY = "misclassified.png"


def evaluate(split_dir: Path, features_dir: Path, train_dir: Path, out: Path, settings: EvaluateParams) -> dict:
    """Write eval.json, the per-class, confusion, calibration and prediction tables, the training curves and
    the gallery of confident mistakes into ``out``; return eval.json's content."""
    classes = read_classes(split_dir)
    summary = read_json(Path(train_dir) / "train.json")
    check_classes(summary, classes, Path(train_dir), Path(split_dir))
    from .scoring import scored_probabilities  # imports Keras (seconds): after the checks that need none

    labels, probs = scored_probabilities(train_dir, split_dir, features_dir, settings.tta)
    dataset = read_json(Path(split_dir) / "dataset.json")
    names = read_names(split_dir, "test")
    metrics = {**classification_metrics(labels, probs, classes), "tta": settings.tta}
    predicted = probs.argmax(1)
    write_table(out / "per_class.csv", per_class_table(labels, predicted, classes))
    write_table(out / "confusion.csv", confusion_pairs(labels, predicted, classes))
    write_table(out / "history.csv", history_table(Path(train_dir) / "live"))
    write_table(out / "calibration.csv", reliability_table(probs, labels))
    write_table(out / "predictions.csv", predictions_table(labels, probs, classes, names))
    images, _ = read_split(split_dir, "test")
    with atomic_file(out / GALLERY) as tmp:
        metrics["gallery_mistakes"] = draw_gallery(tmp, images, probs, labels, classes, settings.gallery_size, names)
    result = {**metrics, "train": train_record(summary), "run": run_record(summary, dataset)}
    write_json(out / "eval.json", result)
    return result
