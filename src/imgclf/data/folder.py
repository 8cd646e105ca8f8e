"""A user's own images: ``train/<class>/*`` (+ optional ``test/<class>/*``) or ``<class>/*``.

The root may be a folder or a .tar.gz/.tgz/.zip archive, optionally wrapped in
one top-level folder. Files with an extension Pillow does not know are ignored
(and counted); files with an image extension that fail to decode are bad
images: listed in an error, or skipped and counted with
``data.on_bad_image: skip``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError, listed
from ..io import new_array
from ..progress import bar
from .archive import open_tree
from .arrays import write_classes, write_names, write_subset
from .duplicates import content_key, find_duplicates
from .fingerprint import source_path
from .images import decode_image, image_extensions
from .parallel import ordered_map
from .split import stratified_holdout

if TYPE_CHECKING:
    from .params import DataParams

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


@dataclass
class Pools:
    """Every file decoded into per-split memory-mapped pools, in the layout's fixed order."""

    images: dict[str, np.ndarray]
    readable: dict[str, np.ndarray]  # split -> bool per file
    keys: dict[str, list[str]]  # split -> content key per file (duplicates)
    bad: list[str] = field(default_factory=list)
    exif_rotated: int = 0
    exif_unreadable: int = 0

    def close(self) -> None:
        for pool in self.images.values():
            Path(pool.filename).unlink()


def decode_all(
    tree, items: dict[str, list[tuple[str, int]]], size: int, mode: str, out: Path, workers: int | None
) -> Pools:
    """Decode every file on ``workers`` threads; each result lands in its own slot, so the pools are
    the same for any worker count."""
    pools = Pools(
        images={s: new_array(out / f".{s}_pool.npy", (len(v), size, size, 3), np.uint8) for s, v in items.items()},
        readable={s: np.zeros(len(v), bool) for s, v in items.items()},
        keys={s: [""] * len(v) for s, v in items.items()},
    )
    slot = {name: (s, i) for s, v in items.items() for i, (name, _) in enumerate(v)}

    def work(entry: tuple[str, bytes]):
        name, payload = entry
        return name, decode_image(payload, size, mode), content_key(payload)

    with bar(len(slot), desc="decode", unit="img") as progress:
        for name, decoded, key in ordered_map(work, tree.read(set(slot)), workers):
            split, i = slot[name]
            pools.keys[split][i] = key
            if decoded.pixels is None:
                pools.bad.append(name)
            else:
                pools.images[split][i] = decoded.pixels
                pools.readable[split][i] = True
                pools.exif_rotated += decoded.exif_rotated
                pools.exif_unreadable += decoded.exif_unreadable
            progress.update(1)
    pools.bad.sort()
    return pools


def _members(items, pools: Pools, labels, classes, data: DataParams, seed: int) -> dict[str, np.ndarray]:
    """Positions in each pool that make train and test: the readable files, with a test set held out
    when the folder has none."""
    if "test" in items:
        return {split: np.flatnonzero(pools.readable[split]) for split in SPLITS}
    keep = np.flatnonzero(pools.readable["train"])
    kept, held = stratified_holdout(labels["train"][keep], data.test_fraction, seed, what="test", names=classes)
    return {"train": keep[kept], "test": keep[held]}


def _deduplicated(items, pools: Pools, members: dict[str, np.ndarray], policy: str) -> tuple[dict, dict]:
    """The duplicates report, and train without images that are also in test when ``policy`` says so."""
    source = {split: split if "test" in items else "train" for split in SPLITS}  # which pool each split is in
    entries = {
        split: [(items[source[split]][i][0], pools.keys[source[split]][i]) for i in members[split]] for split in SPLITS
    }
    report, leaked = find_duplicates(entries["train"], entries["test"])
    if policy == "drop_from_train" and leaked:
        members = {**members, "train": np.delete(members["train"], sorted(leaked))}
        report["dropped_from_train"] = len(leaked)
    return report, members


def fetch_folder(data: DataParams, seed: int, out: Path, workers: int | None = None) -> dict:
    where = data.path
    with open_tree(source_path(data.path)) as tree:
        layout = find_layout(tree.names, tree.dirs)
        classes = class_names(layout, where)
        index = {c: i for i, c in enumerate(classes)}
        items = {
            split: [(f, index[c]) for c in sorted(per_class) for f in sorted(per_class[c])]
            for split, per_class in layout.files.items()
        }
        pools = decode_all(tree, items, data.image_size, data.resize, out, workers)
    bad = pools.bad
    if bad and data.on_bad_image == "error":
        raise DataError(
            f"{where}: {len(bad)} unreadable image(s): {listed(bad)} (data.on_bad_image: skip leaves them out)"
        )
    labels = {s: np.array([label for _, label in v], np.int64) for s, v in items.items()}
    left = set(labels["train"][pools.readable["train"]].tolist())
    if len(left) < len(classes):
        empty = [c for c in classes if index[c] not in left]
        raise DataError(f"{where}: class folder(s) with no readable images: {', '.join(empty)}")
    members = _members(items, pools, labels, classes, data, seed)
    duplicates, members = _deduplicated(items, pools, members, data.duplicates)
    report: dict = {"dataset": "folder", "path": str(data.path), "classes": len(classes), "resize": data.resize}
    for split in SPLITS:
        pool = split if "test" in items else "train"
        write_subset(out, split, pools.images[pool], labels[pool], members[split])
        write_names(out, split, [items[pool][i][0] for i in np.sort(members[split])])  # write_subset's order
        report[split] = len(members[split])
    pools.close()
    write_classes(out, classes)
    report.update(
        {
            "bad_images_skipped": len(bad),
            "bad_images": bad,
            "ignored_files": len(layout.ignored),
            "exif_rotated": pools.exif_rotated,
            "exif_unreadable": pools.exif_unreadable,
            "duplicates": duplicates,
        }
    )
    return report
