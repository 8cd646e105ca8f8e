"""Test doubles built at test time: CIFAR-format archives, image folders, an HTTP file server."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IMGCLF_SHARED", REPO.parent / "shared"))  # real data; tests skip without it


def md5_of(path: Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


# ------------------------------------------------------------------ CIFAR


def _pickle_bytes(obj) -> bytes:
    return pickle.dumps(obj, protocol=2)


def _batch(rng, n: int, label_keys: dict[str, int]) -> dict:
    batch = {b"batch_label": b"fake", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8)}
    for key, classes in label_keys.items():
        batch[key.encode()] = [int(v) for v in np.arange(n) % classes]
    batch[b"filenames"] = [f"img_{i}.png".encode() for i in range(n)]
    return batch


def cifar_archive(
    path: Path, dataset: str = "cifar10", per_batch: int = 20, seed: int = 0, replace: dict | None = None
) -> tuple[Path, str, dict]:
    """A tiny archive in the official "python version" layout; returns (path, md5, {member: object})."""
    rng = np.random.default_rng(seed)
    if dataset == "cifar10":
        folder, keys = "cifar-10-batches-py", {"labels": 10}
        members = {f"data_batch_{i}": _batch(rng, per_batch, keys) for i in range(1, 6)}
        members["test_batch"] = _batch(rng, per_batch, keys)
        members["batches.meta"] = {b"label_names": [f"class{i}".encode() for i in range(10)], b"num_vis": 3072}
    else:
        folder, keys = "cifar-100-python", {"fine_labels": 100, "coarse_labels": 20}
        members = {"train": _batch(rng, per_batch * 5, keys), "test": _batch(rng, per_batch, keys)}
        members["meta"] = {
            b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
        }
    payloads = {name: _pickle_bytes(obj) for name, obj in members.items()}
    payloads.update(replace or {})
    with tarfile.open(path, "w:gz") as tar:
        for name, data in payloads.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path, md5_of(path), members


class RunsCode:
    """Unpickling this would call ``os.system``; the restricted loader must refuse it."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        import os

        return (os.system, (self.command,))


# ------------------------------------------------------------- image trees


def png_bytes(rng, size: int = 12, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    shape = (size, size, 3) if mode == "RGB" else (size, size)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(buffer, format="PNG")
    return buffer.getvalue()


def image_tree(root: Path, layout: dict[str, int], size: int = 12, seed: int = 0) -> Path:
    """Write ``{"train/cat": 4, "test/cat": 2, ...}`` as folders of PNG files under ``root``."""
    rng = np.random.default_rng(seed)
    for folder, count in layout.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            (root / folder / f"{i:03d}.png").write_bytes(png_bytes(rng, size))
    return root


def tar_of(folder: Path, path: Path, arcname: str = "") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname=arcname or folder.name)
    return path


def zip_of(folder: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for file in sorted(folder.rglob("*")):
            zf.write(file, file.relative_to(folder.parent))
    return path


# ------------------------------------------------------------- HTTP server


class FileServer:
    """Serves ``files`` on 127.0.0.1 with HTTP Range support.

    ``drop_after[path] = n`` makes the next full request for ``path`` send the
    headers of the whole file but only ``n`` bytes, then close the connection,
    like a network that fails mid-download. ``requests`` logs (path, Range header).
    """

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.drop_after: dict[str, int] = {}
        self.fail_times: dict[str, int] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                if server.fail_times.get(self.path, 0) > 0:
                    server.fail_times[self.path] -= 1
                    self.send_error(503, "try later")
                    return
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404, "not found")
                    return
                start = 0
                if rng:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                cut = server.drop_after.pop(self.path, None)
                if cut is not None and not rng:
                    self.wfile.write(data[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------- embedding caches


def featurized(
    root: Path, features, seed: int, size: int = 24, counts=(("train", 24), ("val", 8), ("test", 8))
) -> Path:
    """A split of random two-class images under ``root/split`` and its embedding cache under ``root/features``."""
    from imgclf.data.arrays import write_classes, write_subset
    from imgclf.features.featurize import featurize
    from imgclf.runtime import keras_state

    rng = np.random.default_rng(0)
    for split, n in counts:
        write_subset(root / "split", split, rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), np.arange(n) % 2)
    write_classes(root / "split", ["a", "b"])
    with keras_state(seed):
        manifest, _ = featurize(root / "split", root / "features", features, seed)
    manifest.save(root / "features")
    return root


def with_batch_statistics(model, pictures: np.ndarray):
    """``model`` with every BatchNormalization's moving statistics set to those of ``pictures``.

    An untrained (or one-epoch) network in inference mode keeps the initial statistics, and its
    activations shrink layer by layer until every picture gets the same probabilities: a test that
    compares two ways of running it would then compare constants.
    """
    import keras

    def walk(layer):
        yield layer
        for inner in getattr(layer, "layers", []):
            yield from walk(inner)

    norms = [layer for layer in walk(model) if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0
    model(np.asarray(pictures, np.float32), training=True)
    for layer, momentum in zip(norms, momenta, strict=True):
        layer.momentum = momentum
    return model


def train(params, split_dir: Path, features_dir: Path, out: Path, checkpoints: Path | None = None):
    """What the train stage does with params.yaml, in-process: one job resolved, its model trained."""
    from imgclf.training.dispatch import train_model
    from imgclf.training.job import resolve_job

    job = resolve_job(params.model, params.model_recipe, params.seed, params.train)
    return train_model(job, split_dir, features_dir, out, checkpoints)


def write_params(root: Path, changes: dict | None = None) -> Path:
    """params.yaml and recipes/ for a folder a stage runs in: the defaults with nested ``changes`` merged
    (``models.<name>`` whole sections, as the in-memory tree has them)."""
    from imgclf.params import default_params_dict, write_tree

    tree = default_params_dict()

    def merge(into: dict, more: dict) -> None:
        for key, value in more.items():
            merge(into[key], value) if isinstance(value, dict) and isinstance(into.get(key), dict) else into.update(
                {key: value}
            )

    merge(tree, changes or {})
    write_tree(root, tree)
    return root
