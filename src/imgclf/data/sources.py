"""Where images come from. Each source writes fetch's layout (see ``arrays``) into a folder.

Sources without a test set of their own (digits, a folder with no ``test/``)
hold one out, stratified and seeded, so every later stage sees the same
train/test layout. Every source reports exact duplicates (``duplicates``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import listed
from .arrays import read_classes, read_split
from .duplicates import leak_warning

if TYPE_CHECKING:
    from .params import DataParams


def fetch(data: DataParams, seed: int, out: Path) -> dict:
    """Write train/test arrays and classes.json for ``data.dataset`` into ``out``; return a report.

    ``report["warnings"]`` lists what the user should know but need not stop for.
    """
    if data.dataset == "digits":
        from .digits import fetch_digits

        report = fetch_digits(data, seed, out)
    elif data.dataset in ("cifar10", "cifar100"):
        from .cifar import fetch_cifar

        report = fetch_cifar(data, out)
    else:
        from .folder import fetch_folder

        report = fetch_folder(data, seed, out)
    coverage = test_coverage(out)
    leak = leak_warning(report["duplicates"], data.duplicates == "drop_from_train")
    return {**report, **coverage, "warnings": coverage["warnings"] + ([leak] if leak else [])}


def test_coverage(out: Path) -> dict:
    """Classes that have training images but none in the test set, as report fields and a warning."""
    classes = read_classes(out)
    _, test_labels = read_split(out, "test")
    missing = [name for i, name in enumerate(classes) if i not in set(np.unique(test_labels).tolist())]
    if not missing:
        return {"classes_without_test_images": [], "warnings": []}
    shown = listed(missing)
    return {
        "classes_without_test_images": missing,
        "warnings": [
            f"{len(missing)} class(es) have no test images: {shown}; evaluate reports per-class figures and "
            "macro F1 only for classes with test images"
        ],
    }
