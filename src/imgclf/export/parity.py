"""What each exported format costs and whether it computes what the Keras model computes, on the test split."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from ..progress import bar
from .formats import ExportError
from .runners import Runner

FLOAT_FORMATS = ("keras", "saved_model", "tflite", "onnx")  # expected to match the Keras model to rounding
LATENCY_REPEATS = 30
THROUGHPUT_BATCH = 64
THROUGHPUT_IMAGES = 512


def predict_all(runner: Runner, images: np.ndarray, batch_size: int, desc: str) -> np.ndarray:
    """Probabilities for every image of a (memory-mapped) array, a batch at a time."""
    out = []
    with bar(len(images), desc=desc, unit="img") as progress:
        for start in range(0, len(images), batch_size):
            batch = np.asarray(images[start : start + batch_size])
            out.append(runner.predict(batch))
            progress.update(len(batch))
    return np.concatenate(out)


def size_bytes(path: Path) -> int:
    path = Path(path)
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def latency_ms(runner: Runner, image: np.ndarray, repeats: int = LATENCY_REPEATS) -> tuple[float, float]:
    """(p50, p95) milliseconds to classify one picture, after a warm-up call."""
    runner.predict(image[None])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        runner.predict(image[None])
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def throughput(runner: Runner, images: np.ndarray, batch_size: int = THROUGHPUT_BATCH) -> float:
    """Images per second in batches of ``batch_size`` over up to THROUGHPUT_IMAGES test pictures (warm)."""
    sample = np.asarray(images[:THROUGHPUT_IMAGES])
    runner.predict(sample[:batch_size])
    start = time.perf_counter()
    for first in range(0, len(sample), batch_size):
        runner.predict(sample[first : first + batch_size])
    return len(sample) / (time.perf_counter() - start)


def compare(probs: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> dict:
    return {
        "top1": float(np.mean(probs.argmax(1) == labels)),
        "agreement": float(np.mean(probs.argmax(1) == reference.argmax(1))),
        "max_abs_diff": float(np.max(np.abs(probs - reference))),
    }


def check(name: str, figures: dict, min_agreement: float, max_diff: float) -> None:
    """A float format must agree with the Keras model; ExportError naming the format and the figure if not."""
    if name not in FLOAT_FORMATS:
        return
    if figures["agreement"] < min_agreement:
        raise ExportError(
            f"{name}: top-1 agreement with the Keras model is {figures['agreement']:.4%}, below "
            f"export.min_agreement ({min_agreement:.4%})"
        )
    if figures["max_abs_diff"] > max_diff:
        raise ExportError(
            f"{name}: largest probability difference from the Keras model is {figures['max_abs_diff']:.3g}, above "
            f"export.max_probability_diff ({max_diff:g})"
        )
