"""Where images come from. Each source writes fetch's layout (see ``arrays``) into a folder.

Sources without a test set of their own (digits, a folder with no ``test/``)
hold one out here, stratified and seeded, so every later stage sees the same
train/test layout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..arrays import write_subset
from ..params import DataParams
from ..split import stratified_holdout


def fetch(data: DataParams, seed: int, out: Path) -> dict:
    """Write train/test arrays and classes.json for ``data.dataset`` into ``out``; return a report."""
    if data.dataset == "digits":
        from .digits import fetch_digits

        return fetch_digits(data, seed, out)
    if data.dataset in ("cifar10", "cifar100"):
        from .cifar import fetch_cifar

        return fetch_cifar(data, out)
    from .folder import fetch_folder

    return fetch_folder(data, seed, out)


def hold_out_test(
    out: Path, images: np.ndarray, labels: np.ndarray, fraction: float, seed: int, index: np.ndarray | None = None
) -> dict:
    """Write ``train`` and ``test`` from one labelled pool (only its ``index`` entries, if given)."""
    index = np.arange(len(labels)) if index is None else np.asarray(index)
    kept, held = stratified_holdout(labels[index], fraction, seed, what="test")
    train, test = index[kept], index[held]
    write_subset(out, "train", images, labels, train)
    write_subset(out, "test", images, labels, test)
    return {"train": int(len(train)), "test": int(len(test)), "test_held_out": fraction}
