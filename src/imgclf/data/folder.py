"""A user's own images: ``train/<class>/*`` (+ optional ``test/<class>/*``) or ``<class>/*``.

The root may be a folder or a .tar.gz/.tgz/.zip archive, optionally wrapped in
one top-level folder. Files with an extension Pillow does not know are ignored
(and counted); files with an image extension that fail to decode are bad
images: listed in an error, or skipped and counted with
``data.on_bad_image: skip``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from .archive import open_tree
from .arrays import write_classes, write_subset
from ..errors import DataError
from .images import decode_or_none, image_extensions
from ..io import new_array
from ..progress import bar
from .sources import hold_out_test

if TYPE_CHECKING:
    from ..params import DataParams

SHOWN_BAD_FILES = 10  # how many bad file names an error message lists
SPLITS = ("train", "test")


@dataclass
class Layout:
    """Image files per split and class, as names inside the tree, plus what was left out."""

    files: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    class_dirs: dict[str, set[str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    by_split: bool = False  # train/<class>/* rather than <class>/*


def _visible(path: PurePosixPath) -> bool:
    return not any(p.startswith(".") or p == "__MACOSX" for p in path.parts)


def _wrapper_depth(paths: list[PurePosixPath]) -> int:
    """How many single top-level folders (like ``cifar10-jpg/``) wrap every image."""
    depth = 0
    while True:
        tops = {p.parts[depth] for p in paths}
        loose = any(len(p.parts) < depth + 3 for p in paths)  # a wrapper holds <class>/<file> at least
        if len(tops) != 1 or loose or next(iter(tops)) in SPLITS:
            return depth
        depth += 1


def find_layout(names: list[str], dirs: list[str]) -> Layout:
    """Sort files into (split, class); a name is ``[wrapper/]split/class/.../file`` or ``[wrapper/]class/.../file``."""
    extensions = image_extensions()
    files = [p for p in map(PurePosixPath, names) if _visible(p)]
    folders = [p for p in map(PurePosixPath, dirs) if _visible(p)]
    images = [p for p in files if p.suffix.lower() in extensions]
    depth = _wrapper_depth(images) if images else 0
    by_split = any(len(p.parts) > depth + 2 and p.parts[depth] == "train" for p in files)
    layout = Layout(by_split=by_split)

    def place(parts: tuple[str, ...]) -> tuple[str, tuple[str, ...]] | None:
        if by_split:
            return (parts[0], parts[1:]) if parts and parts[0] in SPLITS else None
        return "train", parts

    for path in folders:
        placed = place(path.parts[depth:])
        if placed and len(placed[1]) == 1:
            layout.class_dirs.setdefault(placed[0], set()).add(placed[1][0])
    for path in files:
        placed = place(path.parts[depth:])
        if placed is None or len(placed[1]) < 2:
            layout.ignored.append(str(path))
            continue
        split, (cls, *_) = placed
        layout.class_dirs.setdefault(split, set()).add(cls)
        if path.suffix.lower() in extensions:
            layout.files.setdefault(split, {}).setdefault(cls, []).append(str(path))
        else:
            layout.ignored.append(str(path))
    return layout


def class_names(layout: Layout, where: str) -> list[str]:
    """Sorted training classes; DataError for an empty class folder or a test-only class."""
    for split in SPLITS:
        for cls in sorted(layout.class_dirs.get(split, ())):
            if cls not in layout.files.get(split, {}):
                prefix = f"{split}/" if layout.by_split else ""
                raise DataError(f"{where}: class folder '{prefix}{cls}' has no images")
    classes = sorted(layout.files.get("train", {}))
    if len(classes) < 2:
        raise DataError(
            f"{where}: found {len(classes)} class folder(s) with images; a classifier needs at least 2 "
            "(expected train/<class>/* or <class>/*)"
        )
    unknown = sorted(set(layout.files.get("test", {})) - set(classes))
    if unknown:
        raise DataError(f"{where}: test class folder(s) not in train: {', '.join(unknown)}")
    return classes


def _decode_all(tree, items: dict[str, list[tuple[str, int]]], size: int, out: Path):
    """Decode every file into per-split pools; return pools, readable masks and bad names."""
    pools = {s: new_array(out / f".{s}_pool.npy", (len(v), size, size, 3), np.uint8) for s, v in items.items()}
    readable = {s: np.zeros(len(v), bool) for s, v in items.items()}
    slot = {name: (s, i) for s, v in items.items() for i, (name, _) in enumerate(v)}
    bad = []
    with bar(len(slot), desc="decode", unit="img") as progress:
        for name, payload in tree.read(set(slot)):
            split, i = slot[name]
            image = decode_or_none(payload, size)
            if image is None:
                bad.append(name)
            else:
                pools[split][i] = image
                readable[split][i] = True
            progress.update(1)
    return pools, readable, sorted(bad)


def fetch_folder(data: DataParams, seed: int, out: Path) -> dict:
    where = data.path
    with open_tree(data.path) as tree:
        layout = find_layout(tree.names, tree.dirs)
        classes = class_names(layout, where)
        index = {c: i for i, c in enumerate(classes)}
        items = {
            split: [(f, index[c]) for c in sorted(per_class) for f in sorted(per_class[c])]
            for split, per_class in layout.files.items()
        }
        pools, readable, bad = _decode_all(tree, items, data.image_size, out)
    if bad and data.on_bad_image == "error":
        shown = ", ".join(bad[:SHOWN_BAD_FILES]) + (f" and {len(bad) - SHOWN_BAD_FILES} more" if len(bad) > SHOWN_BAD_FILES else "")
        raise DataError(f"{where}: {len(bad)} unreadable image(s): {shown} (data.on_bad_image: skip leaves them out)")
    labels = {s: np.array([label for _, label in v], np.int64) for s, v in items.items()}
    left = set(labels["train"][readable["train"]].tolist())
    if len(left) < len(classes):
        empty = [c for c in classes if index[c] not in left]
        raise DataError(f"{where}: class folder(s) with no readable images: {', '.join(empty)}")
    report: dict = {"dataset": "folder", "path": str(data.path), "classes": len(classes)}
    if "test" in items:
        for split in SPLITS:
            keep = np.flatnonzero(readable[split])
            write_subset(out, split, pools[split], labels[split], keep)
            report[split] = int(len(keep))
    else:
        keep = np.flatnonzero(readable["train"])
        report.update(hold_out_test(out, pools["train"], labels["train"], data.test_fraction, seed, classes, keep))
    for pool in pools.values():
        Path(pool.filename).unlink()
    write_classes(out, classes)
    report.update({"bad_images_skipped": len(bad), "bad_images": bad, "ignored_files": len(layout.ignored)})
    return report
