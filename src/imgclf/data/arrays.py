"""The on-disk layout shared by the data stages: ``<split>_images.npy`` (N, H, W, 3) uint8
and ``<split>_labels.npy`` (N,) int64 in one folder, plus ``classes.json``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io import load_array, new_array, read_json, save_array, write_json
from ..progress import bar

COPY_CHUNK = 2048  # images per copy step: a few MB at 32x32, bounded memory at any size


def images_path(folder: Path, split: str) -> Path:
    return Path(folder) / f"{split}_images.npy"


def labels_path(folder: Path, split: str) -> Path:
    return Path(folder) / f"{split}_labels.npy"


def read_split(folder: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images memory-mapped, labels in memory."""
    images = load_array(images_path(folder, split))
    labels = np.asarray(load_array(labels_path(folder, split), mmap=False), dtype=np.int64)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8 or len(images) != len(labels):
        raise DataError(
            f"{images_path(folder, split)}: expected (N, H, W, 3) uint8 images with N labels; "
            f"got {images.shape} {images.dtype} and {labels.shape[0]} labels"
        )
    return images, labels


def read_embeddings(features_dir: str | Path, split_dir: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(float32 cached embeddings, int labels) of one split; the two must line up row for row."""
    vectors = load_array(Path(features_dir) / f"{split}.npy")
    _, labels = read_split(split_dir, split)
    if vectors.ndim != 2 or len(vectors) != len(labels):
        raise DataError(
            f"{Path(features_dir) / f'{split}.npy'}: {vectors.shape} embeddings for {len(labels)} {split} labels; "
            "rerun featurize"
        )
    return np.asarray(vectors, dtype=np.float32), labels


def read_views(features_dir: str | Path, shape: tuple) -> np.ndarray | None:
    """The cached augmented views of the training embeddings (V, N, D), memory-mapped; None without views."""
    path = Path(features_dir) / "train_views.npy"
    if not path.exists():
        return None
    views = load_array(path)
    if views.ndim != 3 or views.shape[1:] != tuple(shape):
        raise DataError(f"{path}: {views.shape} views for {tuple(shape)} training embeddings; rerun featurize")
    return views


def write_subset(
    folder: Path, split: str, images: np.ndarray, labels: np.ndarray, index: np.ndarray | None = None
) -> None:
    """Copy ``images[index]`` chunk by chunk into a new memory-mapped file."""
    index = np.arange(len(labels)) if index is None else np.sort(np.asarray(index))
    out = new_array(images_path(folder, split), (len(index), *images.shape[1:]), np.uint8)
    with bar(len(index), desc=f"write {split}", unit="img") as progress:
        for start in range(0, len(index), COPY_CHUNK):
            part = index[start : start + COPY_CHUNK]
            out[start : start + len(part)] = images[part]
            progress.update(len(part))
    out.flush()
    del out
    save_array(labels_path(folder, split), np.asarray(labels)[index].astype(np.int64))


def names_path(folder: Path, split: str) -> Path:
    return Path(folder) / f"{split}_names.json"


def write_names(folder: str | Path, split: str, names: list[str]) -> None:
    """The file each stored picture came from (folder sources), in array order: galleries show them."""
    write_json(names_path(folder, split), list(names))


def read_names(folder: str | Path, split: str) -> list[str] | None:
    path = names_path(folder, split)
    return read_json(path) if path.exists() else None


def read_classes(folder: str | Path) -> list[str]:
    classes = read_json(Path(folder) / "classes.json")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise DataError(f"{Path(folder) / 'classes.json'}: expected a list of class names")
    return classes


def write_classes(folder: str | Path, classes: list[str]) -> None:
    write_json(Path(folder) / "classes.json", list(classes))
