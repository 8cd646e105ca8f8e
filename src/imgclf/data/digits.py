"""scikit-learn's bundled 8x8 handwritten digits as RGB images: the offline default."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.datasets import load_digits

from .arrays import write_classes, write_subset
from .duplicates import array_duplicates
from .images import resize_rgb
from .split import stratified_holdout

if TYPE_CHECKING:
    from .params import DataParams


def digits_images(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(1797, size, size, 3) uint8 images, upscaled bilinearly, and their labels 0..9."""
    bunch = load_digits()
    gray = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)  # 16 ink levels to 0..255
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    return resize_rgb(rgb, size), bunch.target.astype(np.int64)


def hold_out_test(
    out: Path, images: np.ndarray, labels: np.ndarray, data: DataParams, seed: int, names: list[str]
) -> dict:
    """Write ``train`` and ``test`` from one labelled pool: a stratified test set held out, then duplicates
    of test images dropped from train when ``data.duplicates`` says so."""
    kept, held = stratified_holdout(labels, data.test_fraction, seed, what="test", names=names)
    duplicates, keep = array_duplicates(images[kept], images[held], data.duplicates)
    train = kept[keep]
    write_subset(out, "train", images, labels, train)
    write_subset(out, "test", images, labels, held)
    return {"train": len(train), "test": len(held), "test_held_out": data.test_fraction, "duplicates": duplicates}


def fetch_digits(data: DataParams, seed: int, out: Path) -> dict:
    images, labels = digits_images(data.image_size)
    names = [str(d) for d in range(10)]
    report = hold_out_test(out, images, labels, data, seed, names)
    write_classes(out, names)
    return {"dataset": "digits", "source": "sklearn.datasets.load_digits", **report}
