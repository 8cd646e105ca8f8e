"""Small tables and records derived from a run's outputs, for git-tracked metrics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataError, listed

# train.json numbers worth a column next to the test metrics, and the recipe an ``auto`` param became.
TRAIN_FIELDS = ("params", "epochs_run", "best_epoch", "best_val_accuracy", "replicas", "global_batch", "recipe_used")


def history_table(live_dir: Path) -> pd.DataFrame:
    """dvclive's per-metric TSVs joined into one table: epoch, train_loss, val_loss, ..."""
    root = Path(live_dir) / "plots" / "metrics"
    files = sorted(root.rglob("*.tsv"))
    if not files:
        raise DataError(f"{root}: no training curves found; rerun the train stage")
    table = None
    for path in files:
        name = "_".join(path.relative_to(root).with_suffix("").parts)
        frame = pd.read_csv(path, sep="\t")
        column = next(c for c in frame.columns if c not in ("step", "timestamp"))
        frame = frame[["step", column]].rename(columns={"step": "epoch", column: name})
        table = frame if table is None else table.merge(frame, on="epoch", how="outer")
    table["epoch"] = table["epoch"] + 1
    return table.sort_values("epoch").reset_index(drop=True)


def train_record(summary: dict) -> dict:
    return {key: summary[key] for key in TRAIN_FIELDS if key in summary}


def run_record(summary: dict, dataset: dict) -> dict:
    """The conditions a result was measured under; without them numbers do not compare across machines."""
    run = summary.get("run", {})
    return {
        "model": summary["model"],
        "backend": run.get("backend"),
        "device": run.get("device"),
        "precision": summary.get("precision"),
        "dataset": dataset["dataset"],
        "train_images": dataset["train"],
        "test_images": dataset["test"],
        "test_set": dataset["test_set"],
    }


def check_classes(summary: dict, classes: list[str], train_dir: Path, split_dir: Path) -> None:
    """The model must have been trained on the classes the test set is labelled with, in the same order."""
    trained = summary.get("classes")
    if trained is not None and list(trained) != list(classes):

        def show(names):
            return listed(names, 5)

        raise DataError(
            f"{Path(train_dir) / 'train.json'}: the model was trained on {len(trained)} classes ({show(trained)}) "
            f"but {Path(split_dir) / 'classes.json'} has {len(classes)} ({show(classes)}); "
            "retrain it on this data (`dvc repro`, not `dvc repro -s evaluate`)"
        )
