"""The one module that writes to disk: everything lands under a temporary name first.

A stage killed half-way leaves only a hidden ``.<name>.tmp-<pid>-*`` sibling,
never a file or folder that DVC would take for a finished output; the next
write of the same output removes such leftovers of processes that are gone.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
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


def _temporaries(path: Path) -> Iterator[tuple[Path, int | None]]:
    """``.<name>.tmp-<pid>-*`` siblings of ``path`` and the pid of their writer (None in older names)."""
    prefix = f".{Path(path).name}.tmp-"
    for candidate in Path(path).parent.glob(f"{prefix}*"):
        pid = candidate.name[len(prefix) :].split("-", 1)[0]
        yield candidate, int(pid) if pid.isdigit() else None


def writers(path: Path) -> list[int]:
    """Pids of other running processes writing ``path`` now."""
    return sorted({pid for _, pid in _temporaries(path) if pid and pid != os.getpid() and _alive(pid)})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete ``.<name>.tmp-*`` siblings of ``path`` left by killed processes; return what was removed.

    A temporary name carries its writer's pid; one whose process still runs is
    left alone. Names without a pid come from older versions and are stale.
    """
    removed = []
    for candidate, pid in _temporaries(path):
        if pid is not None and (pid == os.getpid() or _alive(pid)):
            continue
        _remove(candidate)
        removed.append(candidate)
    return removed


def _prefix(path: Path) -> str:
    return f".{path.name}.tmp-{os.getpid()}-"


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask would, for every thread)."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1], 8) for line in fh if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def _as_created(path: Path, folder: bool) -> None:
    """mkstemp/mkdtemp make owner-only entries (0600/0700); give them the mode an open() or mkdir() would
    (0644/0755 under umask 022), so a teammate or a serving container running as another user can read them."""
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def _removed_on_failure(tmp: Path, path: Path) -> Iterator[None]:
    """Remove ``tmp`` if the block fails; a full disk's OSError then names ``path`` (Python's own writes name no
    file), the temporary name it was written under replaced by the output's."""
    try:
        yield
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            name = str(exc.filename or tmp).replace(str(tmp), str(path), 1)
            raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), name) from exc
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), dir=path.parent))
    _as_created(tmp, folder=True)
    with _removed_on_failure(tmp, path):
        yield tmp
    # Two renames, then the slow delete: a kill between them leaves the old output under a
    # temporary name (cleaned up by the next write), never a half-deleted one under the real name.
    old = Path(f"{tmp}-old")
    if path.exists() or path.is_symlink():
        os.replace(path, old)
    os.replace(tmp, path)
    if old.exists() or old.is_symlink():
        _remove(old)


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the same folder, renamed onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, name = tempfile.mkstemp(prefix=_prefix(path), dir=path.parent, suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    _as_created(tmp, folder=False)
    with _removed_on_failure(tmp, path):
        yield tmp
    os.replace(tmp, path)


def check_writable(path: str | Path, folder: bool = False) -> None:
    """DataError naming ``path`` unless a file (``folder``: files inside it) can be written there.

    Checked before slow work, so a bad ``--out`` fails at once and not after every picture is classified.
    """
    path = Path(path)
    if path.is_dir() != folder and path.exists():
        raise DataError(f"{path}: is {'a file' if folder else 'a folder'}; name {'a folder' if folder else 'a file'}")
    where = path if folder else path.parent
    blocking = next((p for p in [where, *where.parents] if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise DataError(f"{path}: cannot write there ({blocking} is a file, not a folder)")
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=_prefix(path), dir=where)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise DataError(f"{path}: cannot write there ({exc.strerror or exc})") from None


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
    """A writable memory-mapped ``.npy`` file, so large arrays never sit whole in memory. Its blocks are reserved
    at once: a sparse file on a disk that fills up kills the process by SIGBUS at the first page written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    with open(path, "r+b") as fh:
        try:
            os.posix_fallocate(fh.fileno(), 0, os.fstat(fh.fileno()).st_size)
        except OSError as exc:  # a file system that cannot reserve blocks keeps the sparse file
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise OSError(exc.errno, exc.strerror, str(path)) from None
    return array


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


# The fixed time written into reproducible archives (zip's epoch), as SOURCE_DATE_EPOCH tools do.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _renumber_shared_objects(node: Any, ids: dict) -> Any:
    """Replace Keras' ``shared_object_id`` values (memory addresses) by 0, 1, ... in order of appearance."""
    if isinstance(node, dict):
        return {
            k: ids.setdefault(v, len(ids)) if k == "shared_object_id" else _renumber_shared_objects(v, ids)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_renumber_shared_objects(v, ids) for v in node]
    return node


def normalize_keras_archive(path: str | Path) -> None:
    """Make a ``.keras`` file a function of its model only: fixed entry times, no save date, stable ids.

    Keras stamps each save with the time (``metadata.json``'s ``date_saved`` and the
    zip entries' dates) and names objects shared between layers by their memory
    address, so the same weights saved twice hash differently and DVC would rerun
    every later stage. Renumbering the ids keeps which objects are shared.
    """
    path = Path(path)
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for info, data in entries:
            if info.filename == "metadata.json":
                meta = json.loads(data)
                meta["date_saved"] = "1980-01-01@00:00:00"
                data = json.dumps(meta).encode()
            elif info.filename == "config.json":
                data = json.dumps(_renumber_shared_objects(json.loads(data), {})).encode()
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            target.writestr(fixed, data)


def save_arrays(path: str | Path, arrays) -> None:
    """A list of arrays as one .npz file, atomically."""
    with atomic_file(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, *arrays)


def load_arrays(path: str | Path) -> list[np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]
