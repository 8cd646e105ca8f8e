"""Read files from a folder, a tar archive or a zip archive, without extracting to disk.

Archives are untrusted input: a member with an absolute path, a ``..``
component, a link that points outside the archive, or a device file refuses
the whole archive with one message naming the member. Members are read in the
order they are stored, so a .tar.gz is decompressed once, front to back.
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from ..errors import DataError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _check_name(archive: Path, name: str) -> str:
    """The member's normalized relative name, or DataError if it could escape."""
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise DataError(f"{archive}: refused unsafe member {name!r}: absolute path")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise DataError(f"{archive}: refused unsafe member {name!r}: '..' in path")
    return "/".join(parts)


def _link_target(archive: Path, name: str, target: str, relative_to_member: bool) -> str:
    """Resolve a link inside the archive; refuse one that points outside it."""
    if target.startswith("/") or PurePosixPath(target).is_absolute():
        raise DataError(f"{archive}: refused unsafe member {name!r}: link to absolute path {target!r}")
    base = posixpath.dirname(name) if relative_to_member else ""
    resolved = posixpath.normpath(posixpath.join(base, target))
    if resolved == ".." or resolved.startswith("../"):
        raise DataError(f"{archive}: refused unsafe member {name!r}: link points outside the archive ({target!r})")
    return resolved


class FileTree:
    """Regular files under a root: ``names`` lists them, ``read`` yields their bytes.

    ``dirs`` lists folders, empty ones included, so an empty class folder can be named.
    """

    def __init__(self, path: Path):
        self.path = path
        self.names: list[str] = []
        self.dirs: list[str] = []

    def read(self, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> FileTree:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _DirTree(FileTree):
    """A folder; links are followed only while they stay inside it, as in archives."""

    def __init__(self, path: Path):
        super().__init__(path)
        root = path.resolve()
        visited: set[Path] = set()
        for current, dirs, files in os.walk(path, followlinks=True):
            rel = Path(current).relative_to(path)
            for name in sorted(dirs):
                target = self._link_target(root, rel / name)
                inside_itself = target is not None and Path(current).resolve().is_relative_to(target)
                if target is not None and (target in visited or inside_itself):
                    dirs.remove(name)  # a loop, or a second link into a folder already walked
                elif target is not None:
                    visited.add(target)
            dirs.sort()
            self.dirs.extend(str(PurePosixPath(*rel.parts, d)) for d in dirs)
            for name in sorted(files):
                self._link_target(root, rel / name)
                self.names.append(str(PurePosixPath(*rel.parts, name)))

    def _link_target(self, root: Path, rel: Path) -> Path | None:
        """Where a link at ``rel`` resolves to (None if it is not a link); DataError if outside the folder."""
        where = self.path / rel
        if not where.is_symlink():
            return None
        target = where.resolve()
        if not target.is_relative_to(root):
            raise DataError(
                f"{self.path}: refused unsafe member {rel.as_posix()!r}: link points outside the folder ({target})"
            )
        return target

    def read(self, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
        for name in self.names:
            if name in wanted:
                yield name, (self.path / name).read_bytes()


class _TarTree(FileTree):
    def __init__(self, path: Path):
        super().__init__(path)
        try:
            self._tar = tarfile.open(path, "r:*")  # noqa: SIM115  open for the tree's life, closed by close()
            members = self._tar.getmembers()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DataError(f"{path}: not a readable tar archive ({exc})") from None
        self._members: dict[str, tarfile.TarInfo] = {}
        links: dict[str, str] = {}
        for member in members:
            name = _check_name(path, member.name)
            if member.issym() or member.islnk():
                links[name] = _link_target(path, member.name, member.linkname, member.issym())
            elif member.ischr() or member.isblk() or member.isfifo():
                raise DataError(f"{path}: refused unsafe member {member.name!r}: device or pipe")
            elif member.isfile():
                self._members[name] = member
            elif member.isdir():
                self.dirs.append(name)
        for name, target in links.items():
            if target in self._members:
                self._members[name] = self._members[target]
        self.names = list(self._members)

    def read(self, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
        order = sorted((self._members[n].offset_data, n) for n in wanted if n in self._members)
        try:
            for _, name in order:
                with self._tar.extractfile(self._members[name]) as fh:
                    yield name, fh.read()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DataError(f"{self.path}: archive is corrupt or truncated ({exc})") from None

    def close(self) -> None:
        self._tar.close()


class _ZipTree(FileTree):
    def __init__(self, path: Path):
        super().__init__(path)
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataError(f"{path}: not a readable zip archive ({exc})") from None
        self._infos: dict[str, zipfile.ZipInfo] = {}
        links: dict[str, str] = {}
        for info in infos:
            name = _check_name(path, info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                links[name] = _link_target(path, info.filename, self._zip.read(info).decode(), True)
            elif info.is_dir():
                self.dirs.append(name)
            else:
                self._infos[name] = info
        for name, target in links.items():
            if target in self._infos:
                self._infos[name] = self._infos[target]
        self.names = list(self._infos)

    def read(self, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
        order = sorted((self._infos[n].header_offset, n) for n in wanted if n in self._infos)
        try:
            for _, name in order:
                yield name, self._zip.read(self._infos[name])
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DataError(f"{self.path}: archive is corrupt or truncated ({exc})") from None

    def close(self) -> None:
        self._zip.close()


def open_tree(path: str | Path) -> FileTree:
    """A folder, .tar.gz/.tgz/.tar or .zip as a tree of named files."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        return _DirTree(path)
    lower = path.name.lower()
    if lower.endswith(".zip"):
        return _ZipTree(path)
    if lower.endswith((".tar.gz", ".tgz", ".tar")):
        return _TarTree(path)
    raise DataError(f"{path}: not a folder or a supported archive ({', '.join(ARCHIVE_SUFFIXES)})")
