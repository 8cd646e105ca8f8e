"""CIFAR-10 and CIFAR-100 from their official "python version" archives.

The batches are read straight out of the .tar.gz (nothing is extracted) and
unpickled with ``safe_pickle``, so a tampered mirror cannot run code even when
``data.md5`` is set to match it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import numpy as np

from ..errors import DataError
from ..io import file_digest, save_array
from .archive import open_tree
from .arrays import write_classes, write_subset
from .download import cache_dir, download
from .duplicates import array_duplicates
from .images import resize_rgb
from .safe_pickle import load_plain_pickle

if TYPE_CHECKING:
    from .params import DataParams


@dataclass(frozen=True)
class CifarArchive:
    url: str
    md5: str  # published at https://www.cs.toronto.edu/~kriz/cifar.html
    folder: str
    train: tuple[str, ...]
    test: str
    meta: str
    label_keys: tuple[str, ...]  # first is the default label mode
    name_keys: tuple[str, ...]


ARCHIVES = {
    "cifar10": CifarArchive(
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        md5="c58f30108f718f92721af3b95e74349a",
        folder="cifar-10-batches-py",
        train=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test="test_batch",
        meta="batches.meta",
        label_keys=("labels",),
        name_keys=("label_names",),
    ),
    "cifar100": CifarArchive(
        url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        md5="eb9058c3a382ffc7106e4002c42a8d85",
        folder="cifar-100-python",
        train=("train",),
        test="test",
        meta="meta",
        label_keys=("fine_labels", "coarse_labels"),
        name_keys=("fine_label_names", "coarse_label_names"),
    ),
}


def _field(batch: object, key: str, source: str) -> object:
    if not isinstance(batch, dict) or key.encode() not in batch:
        raise DataError(f"{source}: not a CIFAR batch (no {key!r} entry)")
    return batch[key.encode()]


def _batch_arrays(batch: object, label_keys: tuple[str, ...], source: str) -> tuple[np.ndarray, list[np.ndarray]]:
    data = _field(batch, "data", source)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(f"{source}: 'data' must be an (N, 3072) uint8 array")
    labels = []
    for key in label_keys:
        values = np.asarray(_field(batch, key, source))
        if values.shape != (len(data),) or not np.issubdtype(values.dtype, np.integer):
            raise DataError(f"{source}: {key!r} must hold one integer per image")
        labels.append(values.astype(np.int64))
    # Rows are channel-major 32x32 planes: (N, 3, 32, 32) -> (N, 32, 32, 3).
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def read_cifar_archive(path: Path, spec: CifarArchive) -> dict:
    """{'train': (images, [labels per key]), 'test': ..., 'names': [names per key]} from the archive."""
    members = {name: f"{spec.folder}/{name}" for name in (*spec.train, spec.test, spec.meta)}
    with open_tree(path) as tree:
        missing = [m for m in members.values() if m not in tree.names]
        if missing:
            raise DataError(f"{path}: not a CIFAR python archive (missing {', '.join(missing)})")
        loaded = {name: load_plain_pickle(data, f"{path}:{name}") for name, data in tree.read(set(members.values()))}
    meta = loaded[members[spec.meta]]
    names = []
    for key in spec.name_keys:
        values = _field(meta, key, f"{path}:{members[spec.meta]}")
        names.append([v.decode() if isinstance(v, bytes) else str(v) for v in values])
    result = {"names": names}
    for split, parts in (("train", spec.train), ("test", (spec.test,))):
        arrays = [_batch_arrays(loaded[members[p]], spec.label_keys, f"{path}:{members[p]}") for p in parts]
        images = np.concatenate([a[0] for a in arrays])
        labels = [np.concatenate([a[1][k] for a in arrays]) for k in range(len(spec.label_keys))]
        for key, values, class_names in zip(spec.label_keys, labels, names):
            if values.min() < 0 or values.max() >= len(class_names):
                raise DataError(f"{path}: {split} {key!r} out of range 0..{len(class_names) - 1}")
        result[split] = (images, labels)
    return result


def fetch_cifar(data: DataParams, out: Path) -> dict:
    spec = ARCHIVES[data.dataset]
    url = data.url or spec.url
    md5 = data.md5 or spec.md5
    name = PurePosixPath(urlparse(url).path).name or f"{data.dataset}.tar.gz"
    archive = download(url, cache_dir() / "downloads" / name, md5)
    content = read_cifar_archive(archive, spec)
    mode = 1 if data.dataset == "cifar100" and data.label_mode == "coarse" else 0
    duplicates, keep_train = array_duplicates(content["train"][0], content["test"][0], data.duplicates)
    counts = {}
    for split in ("train", "test"):
        images, labels = content[split]
        keep = keep_train if split == "train" else np.arange(len(images))
        images = resize_rgb(images[keep], data.image_size)
        write_subset(out, split, images, labels[mode][keep])
        for key, values in zip(spec.label_keys, labels):
            save_array(out / f"{split}_{key}.npy", values[keep])  # every label set is kept
        counts[split] = len(images)
    write_classes(out, content["names"][mode])
    return {
        "dataset": data.dataset,
        "url": url,
        "md5": md5,
        "sha256": file_digest(archive),
        "label_mode": spec.label_keys[mode],
        "class_names": dict(zip(spec.label_keys, content["names"])),
        **counts,
        "duplicates": duplicates,
    }
