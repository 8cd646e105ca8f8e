"""The one module that writes to disk: everything lands under a temporary name first.

A stage killed half-way leaves only a hidden ``.<name>.tmp-*`` sibling, never a
file or folder that DVC would take for a finished output.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove(path)
    os.replace(tmp, path)


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the same folder, renamed onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent, suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: not found; run the stage that makes it first (`dvc repro`)") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None


def write_text(path: str | Path, text: str) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text)


def write_table(path: str | Path, frame: Any) -> None:
    """Write a pandas DataFrame as CSV or TSV (by suffix), atomically."""
    path = Path(path)
    sep = "\t" if path.suffix == ".tsv" else ","
    with atomic_file(path) as tmp:
        frame.to_csv(tmp, sep=sep, index=False, float_format="%.6g")


def new_array(path: str | Path, shape: tuple, dtype: Any) -> np.ndarray:
    """A writable memory-mapped ``.npy`` file, so large arrays never sit whole in memory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def save_array(path: str | Path, array: np.ndarray) -> None:
    """Save a small in-memory array (labels, indices)."""
    with atomic_file(path) as tmp:
        np.save(tmp, array)


def load_array(path: str | Path, mmap: bool = True) -> np.ndarray:
    path = Path(path)
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: not found; run the stage that makes it first (`dvc repro`)") from None
    except ValueError as exc:
        raise DataError(f"{path}: not a valid .npy array ({exc})") from None


def file_digest(path: str | Path, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def copy_file(src: str | Path, dst: str | Path) -> None:
    with atomic_file(dst) as tmp:
        shutil.copyfile(src, tmp)


def copy_tree(src: str | Path, dst: str | Path) -> None:
    """Replace folder ``dst`` with a copy of ``src`` (or just remove it when ``src`` does not exist)."""
    dst = Path(dst)
    if dst.exists():
        shutil.rmtree(dst)
    if Path(src).exists():
        shutil.copytree(src, dst)


def remove_tree(path: str | Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def save_arrays(path: str | Path, arrays) -> None:
    """A list of arrays as one .npz file, atomically."""
    with atomic_file(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, *arrays)


def load_arrays(path: str | Path) -> list[np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]
