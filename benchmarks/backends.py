"""10. Training speed per Keras backend, side by side: what `train.backend: auto` is decided from.

For each from-scratch model and the finetune: train_on_batch images/s and the
achieved FLOP/s (forward + backward = 3 x the forward MACs, 2 FLOPs each) as a
fraction of the matmul and theoretical peaks (never above 1), on TensorFlow, TensorFlow + XLA, JAX
(jitted) and PyTorch where it is installed; `model.fit` over `train_on_batch`
at batch 64/128/256 on the default backend; and `import keras` time per backend.
A backend is fixed when Keras is imported, so each runs in its own process:

    python -m benchmarks.backends --backend jax --jit true   # one configuration, JSON rows on stdout
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys

from .harness import fractions_of_peak

CONFIGS = [("tensorflow", False), ("tensorflow", True), ("jax", True), ("torch", False)]
MODELS = ("mobilenet_v1", "mobilenet_v2", "resnext_split", "finetune")


def import_seconds(backend: str) -> float:
    code = "import time; t = time.perf_counter(); import keras; print(time.perf_counter() - t)"
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return round(float(done.stdout.strip().splitlines()[-1]), 2)


def _builders() -> dict:
    from imgclf.params import Params

    from .train_speed import finetune_for_bench, image_models

    zoo = image_models()
    out = {name: zoo[name] for name in MODELS if name in zoo}
    out["finetune"] = (Params().models.finetune.resolved("resnet50"), finetune_for_bench)
    return out


def configuration_rows(jit: bool, batches: list[int], steps: int, models: list[str]) -> list[dict]:
    """In this process's backend: one row per model and batch size."""
    import numpy as np

    from .harness import model_macs, random_images
    from .train_speed import _compiled, _step_rate

    rng = np.random.default_rng(0)
    rows = []
    for name, (recipe, build) in _builders().items():
        if name not in models:
            continue
        model = _compiled(build(), recipe, jit_compile=jit)
        for batch in batches:
            x, y = random_images(batch, 32), np.eye(10, dtype="float32")[rng.integers(0, 10, batch)]
            rate = _step_rate(model, x, y, steps)
            gflop = 6 * model_macs(model) / 1e9
            rows.append({"model": name, "batch": batch, "images_per_s": round(rate, 2), "train_gflop_per_image": gflop})
    return rows


def multiprocess_cost(epochs: int = 20) -> dict:
    """Two processes on this machine against one, through the train stage (imgclf cluster-demo's runs)."""
    import tempfile
    from pathlib import Path

    from imgclf.tools.cluster_demo import demo

    with tempfile.TemporaryDirectory(prefix="imgclf-bench-cluster-") as tmp:
        result = demo(Path(tmp), epochs)
    return {**result, "two_over_one": round(result["two_processes_s"] / result["one_process_s"], 2), "epochs": epochs}


def fit_rows(batches: list[int], epochs: int = 3) -> list[dict]:
    """model.fit over Batches (the train stage's path) against train_on_batch, mobilenet_v1, per batch size."""
    import numpy as np

    from .harness import random_images
    from .train_speed import _compiled, _fit_rate, _step_rate, image_models

    recipe, build = image_models()["mobilenet_v1"]
    rows = []
    for batch in batches:
        model = _compiled(build(), recipe, jit_compile=False)
        y = np.eye(10, dtype="float32")[np.arange(batch) % 10]
        step = _step_rate(model, random_images(batch, 32), y, 3)
        fit = _fit_rate(model, random_images(4 * batch, 32), np.arange(4 * batch) % 10, epochs, batch)
        rows.append(
            {
                "batch": batch,
                "train_on_batch_images_per_s": round(step, 2),
                "fit_images_per_s": round(fit, 2),
                "fit_over_train_on_batch": round(fit / step, 2),
            }
        )
    return rows


def run(peaks: dict, batches=(64, 128, 256), steps: int = 2, models=MODELS, fit_batches=(64, 128, 256)) -> dict:
    """Every configuration in its own process, then the fractions of peak; torch rows say why they are missing."""
    rows, skipped = [], {}
    for backend, jit in CONFIGS:
        if importlib.util.find_spec(backend) is None:
            skipped[backend] = f"{backend} is not installed"
            continue
        args = ["--backend", backend, "--jit", str(jit).lower(), "--steps", str(steps), "--batches", *map(str, batches)]
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
        cmd = [sys.executable, "-m", "benchmarks.backends", *args, "--models", *models]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode:
            skipped[f"{backend}{' + XLA' if jit else ''}"] = done.stderr.strip().splitlines()[-1][:300]
            continue
        for row in json.loads(done.stdout.strip().splitlines()[-1]):
            achieved = row["images_per_s"] * row["train_gflop_per_image"] * 1e9
            rows.append(
                {
                    "backend": backend,
                    "xla": jit,
                    **row,
                    "train_gflop_per_image": round(row["train_gflop_per_image"], 3),
                    **fractions_of_peak(achieved, peaks),
                }
            )
    fastest = {}
    for row in rows:
        best = fastest.get((row["model"], row["batch"]))
        if best is None or row["images_per_s"] > best["images_per_s"]:
            fastest[row["model"], row["batch"]] = row
    return {
        "batches": list(batches),
        "rows": rows,
        "skipped": skipped,
        "fastest": {f"{m} @{b}": f"{r['backend']}{' + XLA' if r['xla'] else ''}" for (m, b), r in fastest.items()},
        "import_keras_seconds": {b: import_seconds(b) for b, _ in CONFIGS if importlib.util.find_spec(b)},
        "fit": fit_rows(list(fit_batches)),
        "multiprocess": multiprocess_cost() if importlib.util.find_spec("jax") else {"skipped": "jax is not installed"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", required=True)
    parser.add_argument("--jit", choices=("true", "false"), default="false")
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    args = parser.parse_args()
    assert os.environ.get("KERAS_BACKEND") == args.backend, "set KERAS_BACKEND to --backend"
    print(json.dumps(configuration_rows(args.jit == "true", args.batches, args.steps, args.models)))


if __name__ == "__main__":
    main()
