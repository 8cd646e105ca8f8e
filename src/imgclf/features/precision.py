"""features.precision: bfloat16 for the training-side embeddings only where it is measured to pay.

bfloat16 keeps 8 bits of mantissa, so its embeddings differ from float32's: by
0.34% (median relative L2) for ImageNet ResNet50 at 224 px, but by 9% for
MobileNet-0.25 at 128 px, and a random-init ResNet50 at 32 px by 0.8%. Whether it
is faster depends on the CPU and the network. ``auto`` therefore measures both on
a check batch and keeps bfloat16 only when it is at least ``MIN_SPEEDUP`` times
faster *and* within ``TOLERANCE`` of float32. The decision is remembered per
machine and configuration (``remembered``), so a rerun on the same machine makes
the same bytes even when the two speeds are close. Either way the test
embeddings are made in float32, the precision of the exported model, so
evaluate scores the model that is shipped.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

TOLERANCE = 0.005  # largest median relative L2 distance of a bfloat16 embedding from the float32 one
MIN_SPEEDUP = 1.1  # bfloat16 must be this much faster than float32 to be kept
CHECK_BATCHES = 2  # batches of training pictures measured
ROUNDS = 3  # timed passes of each precision, alternating; the median counts
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}  # precision -> Keras dtype policy


@dataclass(frozen=True)
class Measurement:
    error_median: float  # relative L2 distance bfloat16 -> float32, over the check pictures
    error_max: float
    float32_images_per_second: float
    bfloat16_images_per_second: float

    @property
    def speedup(self) -> float:
        return self.bfloat16_images_per_second / self.float32_images_per_second


@dataclass(frozen=True)
class Choice:
    precision: str  # float32 | bfloat16: what the training and validation embeddings are made in
    reason: str
    measurement: Measurement | None = None

    def record(self) -> dict:
        """For the manifest: the decision and the embedding error (a function of the data and the machine)."""
        figures = asdict(self.measurement) if self.measurement else {}
        return {
            "precision": self.precision,
            "reason": self.reason,
            "tolerance": TOLERANCE,
            **{k: figures[k] for k in ("error_median", "error_max") if k in figures},
        }

    def speeds(self) -> dict:
        """For metrics/featurize.json: the measured speeds vary run to run, so they stay out of the cache."""
        figures = asdict(self.measurement) if self.measurement else {}
        return {k: v for k, v in figures.items() if k.endswith("per_second")}


def decide(setting: str, native: bool, measure) -> Choice:
    """The precision for ``features.precision`` = ``setting``; ``measure()`` returns a Measurement (called only
    for ``auto`` on a CPU with bfloat16 units)."""
    if setting != "auto":
        return Choice(setting, f"features.precision: {setting}")
    if not native:
        return Choice("float32", "auto: this CPU has no bfloat16 units (AVX512-BF16 or AMX)")
    m = measure()
    figures = f"bfloat16 {m.speedup:.2f}x the speed of float32, median embedding error {m.error_median:.2%}"
    if m.speedup < MIN_SPEEDUP:
        return Choice("float32", f"auto: {figures}; not faster by {MIN_SPEEDUP}x", m)
    if m.error_median > TOLERANCE:
        return Choice("float32", f"auto: {figures}; above the {TOLERANCE:.1%} tolerance", m)
    return Choice("bfloat16", f"auto: {figures}", m)


def _timed(model, images: np.ndarray, batch_size: int) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = [
        np.asarray(model.predict_on_batch(images[i : i + batch_size]), np.float32)
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(out), time.perf_counter() - start


def measure(float32_model, bfloat16_model, images: np.ndarray, batch_size: int) -> Measurement:
    """Both models over the same pictures (whole batches), alternating, after a warm-up call each."""
    images = np.asarray(images)
    for model in (float32_model, bfloat16_model):
        model.predict_on_batch(images[:batch_size])
    seconds: dict[str, list[float]] = {"float32": [], "bfloat16": []}
    outputs = {}
    for _ in range(ROUNDS):
        for name, model in (("float32", float32_model), ("bfloat16", bfloat16_model)):
            outputs[name], spent = _timed(model, images, batch_size)
            seconds[name].append(spent)
    reference = outputs["float32"]
    error = np.linalg.norm(outputs["bfloat16"] - reference, axis=1) / np.maximum(
        np.linalg.norm(reference, axis=1), 1e-12
    )
    return Measurement(
        error_median=round(float(np.median(error)), 6),
        error_max=round(float(error.max()), 6),
        float32_images_per_second=round(len(images) / statistics.median(seconds["float32"]), 1),
        bfloat16_images_per_second=round(len(images) / statistics.median(seconds["bfloat16"]), 1),
    )


def remembered(setting: str, native: bool, key: dict, measure_fn: Callable[[], Measurement]) -> Choice:
    """``decide``, with a measured decision kept in the user's cache under ``key`` (the machine, the network and
    the check pictures) and reused: timing noise must not flip the precision, and so the embeddings, between runs."""
    if setting != "auto" or not native:
        return decide(setting, native, measure_fn)
    from ..data.download import cache_dir
    from ..io import read_json, write_json

    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]
    path = cache_dir() / "precision" / f"{digest}.json"
    if path.exists():
        saved = read_json(path)
        return Choice(saved["precision"], saved["reason"], Measurement(**saved["measurement"]))
    choice = decide(setting, native, measure_fn)
    write_json(
        path,
        {"key": key, "precision": choice.precision, "reason": choice.reason, "measurement": asdict(choice.measurement)},
    )
    return choice
