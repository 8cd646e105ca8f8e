"""``imgclf predict``: classify pictures (files, folders, .zip/.tar.gz archives) with an exported model.

    imgclf predict photos/ holiday.zip IMG_0042.jpg --top-k 3 --out predictions.csv
    imgclf predict photos/ --model data/export/model.tflite
    imgclf predict photos/ --rev my-experiment        # the model that experiment or commit exported

Pictures are decoded, oriented and resized by the same code as the fetch stage
(``data.images``), in parallel; one row per picture goes to a CSV or JSON
file, written whole or not at all.
"""

from __future__ import annotations

import argparse
import os
import posixpath
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.archive import is_archive, open_tree
from ..data.images import decode_image, image_extensions
from ..data.parallel import ordered_map
from ..errors import DataError, listed
from ..export.runners import FILES, PREPROCESSING, Runner, load_runner
from ..io import check_writable, read_json, write_json, write_table, writers
from ..progress import bar


@dataclass
class Bundle:
    """A model and how pictures must be prepared for it."""

    runner: Runner
    classes: list[str]
    image_size: int
    resize: str


def load_bundle(path: Path) -> Bundle:
    """An export folder (its model.keras), or one model file / SavedModel with the export's preprocessing.json."""
    path = Path(path)
    if not path.exists():
        export = next((p for p in [path, *path.parents] if p.name == "export"), path)
        if busy := writers(export):
            raise DataError(
                f"{path}: not there while the export stage rebuilds {export} (process {busy[0]}); run this again "
                "when it has finished, or pass --model another export"
            )
        raise DataError(f"{path}: no such model file or folder; `dvc repro export` writes data/export")
    folder = path if path.is_dir() and not (path / "saved_model.pb").exists() else path.parent
    if not (folder / PREPROCESSING).exists():
        raise DataError(
            f"{path}: not an export (no {PREPROCESSING} in {folder}); `dvc repro` writes one to data/export"
        )
    preprocessing = read_json(folder / PREPROCESSING)
    runner = load_runner(folder / FILES["keras"] if path == folder else path)
    return Bundle(runner, preprocessing["classes"], preprocessing["image_size"], preprocessing["resize"])


def pictures(paths: list[str], extensions: set[str]) -> Iterator[tuple[str, bytes]]:
    """(shown path, file bytes) of every picture under ``paths``, one at a time; DataError for a missing path
    or a folder or archive with no pictures in it."""
    for given in map(Path, paths):
        if not given.exists():
            raise DataError(f"{given}: no such file or folder")
        if given.is_file() and not is_archive(given):
            yield str(given), given.read_bytes()
            continue
        with open_tree(given) as tree:
            names = {n for n in tree.names if Path(n).suffix.lower() in extensions}
            if not names:
                raise DataError(f"{given}: no pictures in this {'archive' if given.is_file() else 'folder'}")
            for name, data in tree.read(names):  # a folder in sorted order, an archive front to back
                yield f"{given}/{name}", data


def top_k_rows(paths: list[str], probs: np.ndarray, classes: list[str], k: int) -> list[dict]:
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    rows = []
    for path, p, best in zip(paths, probs, order):
        row = {"path": path}
        for rank, c in enumerate(best, start=1):
            row[f"label_{rank}"], row[f"probability_{rank}"] = classes[c], float(p[c])
        rows.append(row)
    return rows


def classify(bundle: Bundle, paths: list[str], batch_size: int, workers: int | None) -> tuple[list[dict], list[str]]:
    """(rows of (path, probabilities), unreadable paths) for every picture, in input order."""
    done, bad, batch, names = [], [], [], []

    def decode(entry: tuple[str, bytes]):
        return entry[0], decode_image(entry[1], bundle.image_size, bundle.resize).pixels

    def flush():
        if batch:
            done.extend(zip(names, bundle.runner.predict(np.stack(batch)), strict=True))
            batch.clear()
            names.clear()

    with bar(None, desc="predict", unit="img") as progress:
        for name, pixels in ordered_map(decode, pictures(paths, image_extensions()), workers):
            if pixels is None:
                bad.append(name)
            else:
                batch.append(pixels)
                names.append(name)
                if len(batch) == batch_size:
                    flush()
            progress.update(1)
        flush()
    return done, bad


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="pictures, folders (searched recursively), .zip/.tar.gz"
    )
    parser.add_argument(
        "--model", default="data/export", help="export folder, or a .keras/.tflite/.onnx file or SavedModel"
    )
    parser.add_argument("--top-k", type=int, default=5, help="labels per picture (default 5)")
    parser.add_argument("--out", help="predictions.csv or predictions.json (default: CSV on standard output)")
    parser.add_argument("--on-bad-image", choices=("error", "skip"), default="error", help="unreadable pictures")
    parser.add_argument("--batch-size", type=int, default=64, help="pictures per model call")
    parser.add_argument("--rev", help="an experiment or commit: use the model it exported, fetched through DVC")


def project_path(model: str) -> str:
    """``model`` relative to the DVC project root, which is how a revision names its files."""
    from dvc.repo import Repo

    root = Path(Repo.find_root()).resolve()
    path = Path(model)
    if not path.is_absolute():
        path = Path.cwd() / path
    try:
        return Path(os.path.normpath(path)).relative_to(root).as_posix()
    except ValueError:
        raise DataError(f"--model {model}: with --rev the model must be inside this project ({root})") from None


def fetch_revision(model: str, rev: str, into: Path) -> Path:
    """The export ``model`` names (its folder, or a file in it) as it was at ``rev``, copied into ``into``.

    A file is fetched with its whole export folder, so its preprocessing.json comes along.
    """
    from dvc.api import DVCFileSystem
    from dvc.exceptions import DvcException
    from dvc.scm import SCMError
    from dvc_data.index.index import DataIndexDirError

    path = project_path(model)
    try:
        fs = DVCFileSystem(".", rev=rev)
        folder = path if fs.isdir(path) and fs.exists(f"{path}/{PREPROCESSING}") else posixpath.dirname(path)
        if not fs.exists(path):
            raise FileNotFoundError(path)
        fs.get(folder, str(into / "export"), recursive=True)
    except FileNotFoundError:
        raise DataError(f"{path} at {rev}: no such file or folder in that revision") from None
    except SCMError as exc:
        raise DataError(f"--rev {rev}: no such commit, branch, tag or experiment in this project ({exc})") from None
    except (DataIndexDirError, DvcException) as exc:
        raise DataError(
            f"{path} at {rev}: its files are not in this project's DVC cache ({type(exc).__name__}; a fresh clone "
            "has none): `dvc pull` them from the remote (`dvc exp pull` for an experiment), or run the pipeline "
            "at that revision"
        ) from None
    return into / "export" / posixpath.relpath(path, folder) if folder != path else into / "export"


def write_rows(rows: list[dict], out: str | None) -> None:
    if out is None:
        pd.DataFrame(rows).to_csv(sys.stdout, index=False, float_format="%.6g")
    elif out.lower().endswith(".json"):
        write_json(out, rows)
    else:
        write_table(out, pd.DataFrame(rows))


def run(args: argparse.Namespace) -> None:
    if args.top_k < 1 or args.batch_size < 1:
        raise DataError(f"--top-k and --batch-size must be at least 1; got {args.top_k} and {args.batch_size}")
    if args.out:
        check_writable(args.out)
    with tempfile.TemporaryDirectory(prefix="imgclf-rev-") as scratch:
        model = fetch_revision(args.model, args.rev, Path(scratch)) if args.rev else Path(args.model)
        bundle = load_bundle(model)
        done, bad = classify(bundle, args.paths, args.batch_size, None)
    if bad and args.on_bad_image == "error":
        raise DataError(f"{len(bad)} unreadable picture(s): {listed(bad)} (--on-bad-image skip leaves them out)")
    names = [name for name, _ in done]
    probs = np.stack([p for _, p in done]) if done else np.zeros((0, len(bundle.classes)))
    write_rows(top_k_rows(names, probs, bundle.classes, min(args.top_k, len(bundle.classes))), args.out)
    skipped = f", {len(bad)} unreadable skipped" if bad else ""
    print(f"predict: {len(done)} picture(s){skipped}" + (f" -> {args.out}" if args.out else ""), file=sys.stderr)
