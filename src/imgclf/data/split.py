"""Seeded, stratified subsets: per-class caps and held-out fractions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from ..errors import DataError, listed
from ..io import file_digest, read_json
from .arrays import (
    images_path,
    labels_path,
    read_classes,
    read_names,
    read_split,
    write_classes,
    write_names,
    write_subset,
)


def limit_per_class(labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` items per class, drawn at random; all indices when ``limit`` is None."""
    if limit is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    keep = [rng.permutation(np.flatnonzero(labels == c))[:limit] for c in np.unique(labels)]
    return np.sort(np.concatenate(keep))


def stratified_holdout(
    labels: np.ndarray, fraction: float, seed: int, what: str = "held-out", names: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held) index arrays with class proportions preserved in both.

    ``names`` (class names by label) make the errors name the classes at fault.
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels)
    present = np.flatnonzero(counts)
    name = (lambda c: repr(names[c])) if names is not None else (lambda c: f"label {c}")
    lonely = [c for c in present if counts[c] < 2]
    if lonely:
        shown = listed(f"{name(c)} ({counts[c]} image)" for c in lonely)
        raise DataError(
            f"cannot hold out a stratified {what} set: class(es) {shown} have a single image; "
            "each class needs at least 2 (one to keep, one to hold out): add images or remove the class"
        )
    n_held = int(np.ceil(fraction * len(labels)))
    if n_held < len(present) or len(labels) - n_held < len(present):
        side = "held out" if n_held < len(present) else "kept"
        raise DataError(
            f"cannot hold out a stratified {what} set of {fraction:g} from {len(labels)} images in "
            f"{len(present)} classes: {min(n_held, len(labels) - n_held)} images {side} cannot cover every class; "
            f"use a fraction between {len(present) / len(labels):.3g} and {1 - len(present) / len(labels):.3g}"
        )
    index = np.arange(len(labels))
    kept, held = train_test_split(index, test_size=fraction, stratify=labels, random_state=seed)
    return np.sort(kept), np.sort(held)


def split_dataset(
    raw: Path,
    out: Path,
    *,
    val_fraction: float,
    limit: int | None,
    test_limit: int | None,
    seed: int,
) -> dict:
    """Write train/val/test arrays from fetch's train/test; the test images are never mixed in."""
    images, labels = read_split(raw, "train")
    pool = limit_per_class(labels, limit, seed)
    classes = read_classes(raw)
    kept, held = stratified_holdout(labels[pool], val_fraction, seed, what="validation", names=classes)
    write_subset(out, "train", images, labels, pool[kept])
    write_subset(out, "val", images, labels, pool[held])
    test_images, test_labels = read_split(raw, "test")
    test_index = limit_per_class(test_labels, test_limit, seed)
    write_subset(out, "test", test_images, test_labels, test_index)
    names = read_names(raw, "test")
    if names is not None:
        write_names(out, "test", [names[i] for i in np.sort(test_index)])
    write_classes(out, classes)
    return {"train": len(kept), "val": len(held), "test": len(test_index), "classes": len(classes)}


def describe_dataset(raw: Path, out: Path, counts: dict) -> dict:
    """What the split holds, with a fingerprint of the test set: runs are comparable only on the same one."""
    report = read_json(Path(raw) / "report.json")
    test = file_digest(images_path(out, "test")) + file_digest(labels_path(out, "test"))
    return {
        "dataset": report["dataset"],
        "source": report.get("url") or report.get("path") or report.get("source"),
        **counts,
        "test_set": hashlib.sha256(test.encode()).hexdigest()[:16],
    }
