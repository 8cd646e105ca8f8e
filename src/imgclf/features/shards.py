"""Featurize split into independent shards (DVC foreach stages) and joined back, bit for bit.

Shard boundaries fall on whole batches of ``features.batch_size``, so every
batch a shard runs holds exactly the pictures the unsharded run would put in
it: the same padded last batch, the same computation, the same vectors. Each
shard is its own DVC stage with its own output, so two workspaces sharing a DVC
cache (or machines sharing a remote's run-cache) can each run one and `dvc repro`
then restores them instead of recomputing. This module needs no Keras: the join
stage only copies arrays.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import DataError
from ..io import load_array, new_array, read_json, write_json
from .manifest import FeatureManifest

SHARD_RECORD = "shard.json"
ROW_ARRAYS = ("train.npy", "val.npy", "test.npy", "test_flip.npy")  # (N, D): joined along rows
VIEW_ARRAYS = ("train_views.npy",)  # (K-1, N, D): joined along axis 1


def shard_rows(count: int, batch_size: int, shards: int, index: int) -> tuple[int, int]:
    """[start, stop) of the ``count`` rows that shard ``index`` of ``shards`` embeds: whole batches, spread evenly."""
    batches = -(-count // batch_size)
    first, last = index * batches // shards, (index + 1) * batches // shards
    return min(first * batch_size, count), min(last * batch_size, count)


def check_shard_count(shards: int, training_images: int, batch_size: int) -> None:
    """Shards hold whole batches of training pictures, so there can be no more shards than batches."""
    batches = -(-training_images // batch_size)
    if shards > batches:
        raise DataError(
            f"features.shards: {shards} shards for {batches} batch(es) of features.batch_size {batch_size} "
            f"({training_images} training pictures); use at most {batches} shard(s), or a smaller batch_size"
        )


def write_shard_record(folder: Path, index: int, shards: int, first: dict[str, int], timing: dict) -> None:
    write_json(folder / SHARD_RECORD, {"index": index, "shards": shards, "first": first, "timing": timing})


def _records(folders: list[Path]) -> list[dict]:
    """Each shard's record, checked to be shard i of len(folders) with rows that follow the previous shard's."""
    records, starts = [], {}
    for index, folder in enumerate(folders):
        record = read_json(folder / SHARD_RECORD)
        if (record["index"], record["shards"]) != (index, len(folders)):
            raise DataError(
                f"{folder}: holds shard {record['index']} of {record['shards']}, expected shard {index} of "
                f"{len(folders)}; rerun `dvc repro` so every shard matches features.shards"
            )
        manifest = FeatureManifest.load(folder)
        for split, start in record["first"].items():
            if start != starts.get(split, 0):
                raise DataError(f"{folder}: {split} rows start at {start}, expected {starts.get(split, 0)}")
            starts[split] = start + manifest.count[split]
        records.append({**record, "manifest": manifest})
    return records


def _join_array(name: str, folders: list[Path], out: Path) -> None:
    parts = [load_array(folder / name) for folder in folders]
    axis = 1 if name in VIEW_ARRAYS else 0
    shape = list(parts[0].shape)
    shape[axis] = sum(p.shape[axis] for p in parts)
    joined = new_array(out / name, tuple(shape), parts[0].dtype)
    at = 0
    for part in parts:
        n = part.shape[axis]
        if axis == 0:
            joined[at : at + n] = part
        else:
            joined[:, at : at + n] = part
        at += n
    joined.flush()


def join_shards(folders: list[Path], out: Path) -> tuple[FeatureManifest, dict]:
    """Write the embeddings of ``folders`` (shard 0, 1, ...) into ``out`` as one unsharded cache; (manifest, timing)."""
    records = _records(folders)
    first = records[0]["manifest"]
    for record, folder in zip(records, folders):
        other = dataclasses.replace(record["manifest"], count=first.count, run=first.run)
        if other.precision != first.precision:
            raise DataError(
                f"{folder}: embedded in {other.precision}, shard 0 in {first.precision} (features.precision: auto "
                "decided differently on the two machines); set features.precision to float32 or bfloat16"
            )
        if other != first:
            raise DataError(f"{folder}: made with other features params than shard 0; rerun `dvc repro`")
    names = [n for n in ROW_ARRAYS + VIEW_ARRAYS if (folders[0] / n).exists()]
    for name in names:
        _join_array(name, folders, out)
    count = {split: sum(r["manifest"].count[split] for r in records) for split in first.count}
    manifest = dataclasses.replace(first, count=count)
    seconds = [r["timing"]["seconds"] for r in records]
    images = sum(r["timing"]["images"] for r in records)
    timing = {
        "seconds": round(sum(seconds), 3),  # backbone time summed over shards; wall time is less when they overlap
        "images": images,
        "images_per_second": round(images / sum(seconds), 2) if sum(seconds) else None,
        "shards": len(records),
        "shard_seconds": seconds,
    }
    return manifest, timing


def shard_folders(root: Path, shards: list[int]) -> list[Path]:
    return [Path(root) / str(index) for index in shards]
