"""Exact duplicates within and across train and test: the leak that inflates test accuracy.

Images are compared by a hash of their content (a folder's file bytes, or an
array's pixels), so a photo saved twice is caught whatever its name.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np

SHOWN_PAIRS = 10  # example pairs kept in the report


def content_key(data: bytes | np.ndarray) -> str:
    return hashlib.blake2b(data.tobytes() if isinstance(data, np.ndarray) else data, digest_size=16).hexdigest()


def _extra_copies(keys: list[str]) -> int:
    """Images that repeat one seen before them: len(keys) minus the distinct keys."""
    return len(keys) - len(set(keys))


def find_duplicates(train: list[tuple[str, str]], test: list[tuple[str, str]]) -> tuple[dict, set[int]]:
    """``train``/``test``: (name, content key) per image. Returns (report, train positions also in test).

    Example pairs show leaks between train and test first: they are the ones that matter.
    """
    first_in = defaultdict(dict)  # split -> key -> first name
    within = []
    for split, entries in (("train", train), ("test", test)):
        for name, key in entries:
            if key in first_in[split]:
                within.append([first_in[split][key], name])
            first_in[split].setdefault(key, name)
    leaked = {i for i, (_, key) in enumerate(train) if key in first_in["test"]}
    across = [[train[i][0], first_in["test"][train[i][1]]] for i in sorted(leaked)]
    report = {
        "within_train": _extra_copies([k for _, k in train]),
        "within_test": _extra_copies([k for _, k in test]),
        "across_train_test": len(leaked),  # train images whose content is also in test
        "examples": (across + within)[:SHOWN_PAIRS],
    }
    return report, leaked


def leak_warning(report: dict, dropped: bool) -> str | None:
    """The one-line warning fetch prints when train and test share images."""
    shared = report["across_train_test"]
    if not shared:
        return None
    if dropped:
        return f"{shared} training image(s) also in the test set were dropped from train (data.duplicates: drop_from_train)"
    return (
        f"{shared} training image(s) are also in the test set, which inflates test accuracy; "
        "data.duplicates: drop_from_train leaves them out of train (examples in data/raw/report.json)"
    )


def array_duplicates(train: np.ndarray, test: np.ndarray, policy: str) -> tuple[dict, np.ndarray]:
    """For sources that come as arrays (CIFAR, digits), by pixels: (report, positions of train to keep)."""
    report, leaked = find_duplicates(
        [(f"train[{i}]", content_key(image)) for i, image in enumerate(train)],
        [(f"test[{i}]", content_key(image)) for i, image in enumerate(test)],
    )
    keep = np.arange(len(train))
    if policy == "drop_from_train" and leaked:
        keep = np.delete(keep, sorted(leaked))
        report["dropped_from_train"] = len(leaked)
    return report, keep
