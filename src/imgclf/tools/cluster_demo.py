"""``imgclf cluster-demo``: two processes on this machine train one image model through the real train stage.

    imgclf cluster-demo [--epochs 3] [--backend tensorflow|jax] [--keep DIR]

airbench on a synthetic three-class problem of 32x32 pictures, on TensorFlow's
workers (the CPU route, training/tf_workers.py) by default. It runs the train
stage as one process pinned to one core, as two processes (127.0.0.1, free
ports) pinned to a core each and feeding half of every global batch, and as
one process on the whole global batches; it prints each process's pictures/s
against the lone process's (what a second machine would keep of the first's
speed) and the largest weight difference between the two-process model and
the one-process model. The tests (tests/training/test_tf_workers.py) run the
same projects smaller.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

STAGE = Path(__file__).resolve().parents[3] / "stages" / "train.py"
STAGE_ARGS = ["--split", "data/split", "--features", "data/features", "--checkpoints", "checkpoints"]
STAGE_ARGS += ["--out", "data/train", "--timing", "metrics/train.json", "--progress", "metrics/progress.csv"]


# A small airbench for the image-model runs: BatchNormalization after every convolution, nothing random in the
# model (no flips or shifts, no dropout), so one process and two compute the same steps.
SMALL_AIRBENCH = {"widths": [16, 32, 32]}
STILL = {"flip": False, "translate": 0}


def make_project(
    root: Path,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    peer_timeout_s: int = 30,
    model: str = "head",
    backend: str = "jax",
    pictures: int = 96,
    size: int = 16,
) -> Path:
    """A folder the train stage runs in: params.yaml, data/split and data/features of three separable blobs, as
    16-d embeddings for ``head`` and as ``size``-pixel square pictures (a colour per class, plus noise) for ``airbench``."""
    from ..data.arrays import write_classes, write_subset
    from ..params import default_params_dict, write_tree

    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, (3, 16))
    (root / "data" / "features").mkdir(parents=True, exist_ok=True)
    for split, n in (("train", pictures), ("val", 32), ("test", 32)):
        labels = np.arange(n) % 3
        np.save(
            root / "data" / "features" / f"{split}.npy", (centers[labels] + rng.normal(0, 1.5, (n, 16))).astype("f4")
        )
        colours = 128 + 40 * centers[labels, :3, None, None].transpose(0, 2, 3, 1)
        images = np.clip(colours + rng.normal(0, 40, (n, size, size, 3)), 0, 255).astype(np.uint8)
        write_subset(root / "data" / "split", split, images, labels)
    write_classes(root / "data" / "split", ["a", "b", "c"])
    params = default_params_dict()
    own = {"hidden_units": [16], "dropout": 0.0} if model == "head" else SMALL_AIRBENCH
    params["model"] = model
    recipe = params["models"][model]
    recipe.update(own, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, patience=0)
    if "augment" in recipe:
        recipe["augment"].update(STILL)
    params["train"].update(backend=backend, connect_timeout_s=60, peer_timeout_s=peer_timeout_s)
    write_tree(root, params)  # params.yaml and recipes/
    return root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


def launch(
    root: Path, processes: int, port, process: int | None = None, backend: str = "jax", core: int | None = None
) -> subprocess.Popen:
    """The train stage as process ``process`` of ``processes`` (one plain process when ``processes`` is 1), on
    ``backend``, pinned to CPU ``core`` when one is given (``taskset``). ``port``: JAX's coordinator's, or a
    list of one per process (TensorFlow's workers each listen on one)."""
    env = {**os.environ, "IMGCLF_NO_PROGRESS": "1", "KERAS_BACKEND": backend}
    ports = list(port) if isinstance(port, list | tuple) else [port]
    if processes > 1:
        env.update(
            KERAS_DISTRIBUTION_JOB_ADDRESSES=",".join(f"127.0.0.1:{p}" for p in ports),
            KERAS_DISTRIBUTION_NUM_PROCESSES=str(processes),
            KERAS_DISTRIBUTION_PROCESS_ID=str(process),
        )
    pinned = ["taskset", "-c", str(core)] if core is not None else []
    return subprocess.Popen(
        [*pinned, sys.executable, str(STAGE), *STAGE_ARGS],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def weights(root: Path) -> list[np.ndarray]:
    from ..models.loading import load_model

    return load_model(root / "data" / "train" / "model.keras").get_weights()


def finished(processes: list[subprocess.Popen]) -> list[str]:
    """Each process's stdout, once all have ended; a RuntimeError with their stderr if one failed."""
    outputs = [p.communicate() for p in processes]
    if any(p.returncode for p in processes):
        raise RuntimeError("a train stage failed:\n" + "\n".join(err[-2000:] for _, err in outputs))
    return [out for out, _ in outputs]


def pictures_per_s(root: Path, processes: int) -> float:
    """Each process's training pictures per second (steady epochs), from the run's train.json."""
    return json.loads((root / "metrics" / "train.json").read_text())["images_per_second"] / processes


def demo(workdir: Path, epochs: int = 3, backend: str = "tensorflow", batch: int = 128) -> dict:
    """airbench (its full widths, 32x32 pictures) through the real train stage: one process pinned to one core
    on batches of ``batch``, two processes pinned to a core each on ``batch`` rows each of batches of
    2 x ``batch``, and one process on those whole batches, whose weights the two must match."""
    pinned = shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2
    cores = (0, 1) if pinned else (None, None)
    full = {"model": "airbench", "backend": backend, "pictures": 12 * 2 * batch, "size": 32}
    lone = make_project(workdir / "lone", epochs, batch, 0.05, **full)
    two = make_project(workdir / "two", epochs, batch, 0.05, **full)  # per process; the stage scales it by 2
    one = make_project(workdir / "one", epochs, 2 * batch, 0.1, **full)
    finished([launch(lone, 1, 0, backend=backend, core=cores[0])])
    ports = free_ports(2) if backend == "tensorflow" else free_port()
    finished([launch(two, 2, ports, i, backend=backend, core=cores[i]) for i in range(2)])
    finished([launch(one, 1, 0, backend=backend)])
    gap = max(float(np.abs(a - b).max()) for a, b in zip(weights(one), weights(two)))
    record = json.loads((two / "data" / "train" / "train.json").read_text())
    alone, each = pictures_per_s(lone, 1), pictures_per_s(two, 2)
    return {
        "max_weight_difference": gap,
        "one_process_pictures_per_s": round(alone, 1),
        "two_processes_pictures_per_s_each": round(each, 1),
        "ratio": round(each / alone, 3),
        "pinned": pinned,
        "distribution": record["distribution"],
        "global_batch": record["global_batch"],
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each run (default 3: two timed)")
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax"), help="the engine")
    parser.add_argument("--keep", help="run in this folder and keep it (default: a temporary one)")


def run(args: argparse.Namespace) -> None:
    os.environ["IMGCLF_NO_PROGRESS"] = "1"
    with contextlib.ExitStack() as stack:
        folder = args.keep or stack.enter_context(tempfile.TemporaryDirectory(prefix="imgclf-cluster-demo-"))
        result = demo(Path(folder), args.epochs, args.backend)
    where = "each pinned to a core of its own" if result["pinned"] else "sharing this machine's cores (no taskset)"
    print(
        f"cluster-demo: airbench on {result['distribution']}, {where}: "
        f"{result['two_processes_pictures_per_s_each']} pictures/s per process against "
        f"{result['one_process_pictures_per_s']} for one process alone (ratio {result['ratio']}); weights against "
        f"one process on the same global batches of {result['global_batch']}: largest difference "
        f"{result['max_weight_difference']:.2e}"
    )
