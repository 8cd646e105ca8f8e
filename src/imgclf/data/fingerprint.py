"""A cheap fingerprint of the data source, so fetch reruns when a folder's content changes.

DVC sees ``data.path`` as a param value, not as the files behind it; the
validate stage writes this fingerprint on every ``dvc repro`` and fetch
depends on it. Like make and rsync, it trusts names, sizes and modification
times rather than reading every byte.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError
from .archive import is_archive

if TYPE_CHECKING:
    from .params import DataParams


def source_path(path: str, environ=os.environ) -> Path:
    """``data.path`` on disk. A relative path is read from the project root, which DVC gives every stage as
    DVC_ROOT: a queued or ``--temp`` experiment runs its stages in a copy under .dvc/tmp/exps, where
    ``../shared/...`` would lead somewhere else."""
    where = Path(path).expanduser()
    if where.is_absolute() or not environ.get("DVC_ROOT"):
        return where
    return Path(environ["DVC_ROOT"]) / where


def _tree_digest(root: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    count = 0
    for current, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            path = Path(current) / name
            try:
                stat = path.stat()
            except OSError:  # a dangling link: fetch names it
                continue
            digest.update(f"{path.relative_to(root).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            count += 1
    return digest.hexdigest(), count


def source_fingerprint(data: DataParams) -> dict:
    """What identifies the images fetch would read: the dataset and, for a folder, its files' names, sizes, times."""
    if data.dataset != "folder":
        return {"dataset": data.dataset, "url": data.url, "md5": data.md5}
    path = source_path(data.path)
    if path.is_dir():
        digest, files = _tree_digest(path)
        return {"dataset": "folder", "path": data.path, "files": files, "fingerprint": digest}
    if path.is_file() and is_archive(path):
        stat = path.stat()
        digest = hashlib.sha256(f"{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
        return {"dataset": "folder", "path": data.path, "bytes": stat.st_size, "fingerprint": digest}
    shown = data.path if str(path) == data.path else f"{data.path} (read as {path})"
    raise DataError(f"{shown}: no such folder or archive (data.path)")
