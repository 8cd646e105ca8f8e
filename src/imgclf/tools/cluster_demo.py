"""``imgclf cluster-demo``: two processes on this machine train one model through the real train stage.

    imgclf cluster-demo [--epochs 3] [--keep DIR]

A synthetic three-class problem on cached 16-d embeddings, a small head, the
JAX backend. It runs the train stage once as a single process on the global
batch, then as two processes (127.0.0.1, a free port) feeding half of every
batch each, and prints the largest weight difference and both wall times.
On one machine two processes are not faster (they share its cores); the point
is that they compute the same model, which is what several machines do.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STAGE = Path(__file__).resolve().parents[3] / "stages" / "train.py"
STAGE_ARGS = ["--split", "data/split", "--features", "data/features", "--checkpoints", "checkpoints"]
STAGE_ARGS += ["--out", "data/train", "--timing", "metrics/train.json", "--progress", "metrics/progress.csv"]


def make_project(root: Path, epochs: int, batch_size: int, learning_rate: float, peer_timeout_s: int = 30) -> Path:
    """A folder the train stage runs in: params.yaml, data/split and data/features of separable blobs."""
    from ..data.arrays import write_classes, write_subset
    from ..params import default_params_dict, write_tree

    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, (3, 16))
    (root / "data" / "features").mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 96), ("val", 32), ("test", 32)):
        labels = np.arange(n) % 3
        np.save(
            root / "data" / "features" / f"{split}.npy", (centers[labels] + rng.normal(0, 1.5, (n, 16))).astype("f4")
        )
        write_subset(root / "data" / "split", split, np.zeros((n, 4, 4, 3), np.uint8), labels)
    write_classes(root / "data" / "split", ["a", "b", "c"])
    params = default_params_dict()
    params["models"]["head"].update(
        hidden_units=[16], dropout=0.0, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, patience=0
    )
    params["train"].update(backend="jax", connect_timeout_s=60, peer_timeout_s=peer_timeout_s)
    write_tree(root, params)  # params.yaml and recipes/
    return root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(root: Path, processes: int, port: int, process: int | None = None) -> subprocess.Popen:
    """The train stage as process ``process`` of ``processes`` (one plain process when ``processes`` is 1)."""
    env = {**os.environ, "IMGCLF_NO_PROGRESS": "1", "KERAS_BACKEND": "jax"}
    if processes > 1:
        env.update(
            KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}",
            KERAS_DISTRIBUTION_NUM_PROCESSES=str(processes),
            KERAS_DISTRIBUTION_PROCESS_ID=str(process),
        )
    return subprocess.Popen(
        [sys.executable, str(STAGE), *STAGE_ARGS],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def weights(root: Path) -> list[np.ndarray]:
    from ..models.loading import load_model

    return load_model(root / "data" / "train" / "model.keras").get_weights()


def demo(workdir: Path, epochs: int = 3) -> dict:
    """One process on batches of 16, then two processes on 8 rows each of the same batches: their models."""
    one = make_project(workdir / "one", epochs, 16, 0.004)
    two = make_project(workdir / "two", epochs, 8, 0.002)  # per process; the stage scales both by the count
    start = time.perf_counter()
    single = launch(one, 1, 0)
    single.communicate()
    one_s = time.perf_counter() - start
    start, port = time.perf_counter(), free_port()
    pair = [launch(two, 2, port, i) for i in range(2)]
    outputs = [p.communicate() for p in pair]
    two_s = time.perf_counter() - start
    if single.returncode or any(p.returncode for p in pair):
        raise RuntimeError("a train stage failed:\n" + "\n".join(err[-2000:] for _, err in outputs))
    gap = max(float(np.abs(a - b).max()) for a, b in zip(weights(one), weights(two)))
    record = json.loads((two / "data" / "train" / "train.json").read_text())
    return {
        "max_weight_difference": gap,
        "one_process_s": round(one_s, 1),
        "two_processes_s": round(two_s, 1),
        "distribution": record["distribution"],
        "global_batch": record["global_batch"],
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the small head (default 3)")
    parser.add_argument("--keep", help="run in this folder and keep it (default: a temporary one)")


def run(args: argparse.Namespace) -> None:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ["IMGCLF_NO_PROGRESS"] = "1"
    if args.keep:
        result = demo(Path(args.keep), args.epochs)
    else:
        with tempfile.TemporaryDirectory(prefix="imgclf-cluster-demo-") as tmp:
            result = demo(Path(tmp), args.epochs)
    print(
        f"cluster-demo: two processes ({result['distribution']}, global batch {result['global_batch']}) against one "
        f"on the same batches: largest weight difference {result['max_weight_difference']:.2e}; wall time "
        f"{result['one_process_s']} s for one process, {result['two_processes_s']} s for two (this machine's cores shared)"
    )
