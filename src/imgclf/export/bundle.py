"""The export stage's library side: the end-to-end model in every asked format, parity, labels and card."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..data.arrays import read_classes, read_split
from ..data.parallel import available_cores
from ..evaluation.scoring import scoring_model
from ..hardware import cpu_generation, cpu_name
from ..io import read_json, write_json, write_text
from . import formats, parity
from .card import model_card, worst_classes
from .runners import FILES, PREPROCESSING, QUANTIZATION, load_runner

if TYPE_CHECKING:
    from .params import ExportParams


def calibration_images(split_dir: Path, count: int, seed: int) -> np.ndarray:
    """``count`` training pictures drawn at random (seeded), for int8 calibration."""
    images, _ = read_split(split_dir, "train")
    pick = np.sort(np.random.default_rng(seed).permutation(len(images))[:count])
    return np.asarray(images[pick])


def write_formats(model, out: Path, export: ExportParams, split_dir: Path, seed: int) -> dict[str, Path]:
    """Every asked format under ``out``; the SavedModel the others are converted from is kept only if asked."""
    paths = {"keras": out / FILES["keras"]}
    formats.write_keras(model, paths["keras"])
    wanted = set(export.formats) | ({f"tflite_{export.quantize}"} if export.quantize != "none" else set())
    if not wanted:
        return paths
    scratch = Path(tempfile.mkdtemp(prefix="imgclf-saved-model-"))
    try:
        saved = out / FILES["saved_model"] if "saved_model" in wanted else scratch / "saved_model"
        formats.write_saved_model(model, saved)
        if "saved_model" in wanted:
            paths["saved_model"] = saved
        for name in ("tflite", "tflite_float16", "tflite_dynamic", "tflite_int8", "onnx"):
            if name not in wanted:
                continue
            paths[name] = out / FILES[name]
            if name == "tflite":
                formats.write_tflite(saved, paths[name])
            elif name in ("tflite_float16", "tflite_dynamic"):
                formats.write_tflite_weights(saved, paths[name], "float16" if name == "tflite_float16" else "int8")
            elif name == "tflite_int8":
                calibration = calibration_images(split_dir, export.calibration_images, seed)
                formats.write_tflite_int8(saved, paths[name], calibration)
            else:
                formats.write_onnx(saved, paths[name])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return paths


def measure(paths: dict[str, Path], images: np.ndarray, labels: np.ndarray, export: ExportParams):
    """Per format: size, test top-1, agreement and largest difference against Keras, latency, throughput."""
    figures, reference = {}, None
    for name, path in paths.items():
        runner = load_runner(path)
        probs = parity.predict_all(runner, images, export.batch_size, f"test {name}")
        reference = probs if reference is None else reference  # keras comes first
        p50, p95 = parity.latency_ms(runner, np.asarray(images[0]))
        figures[name] = {
            "quantization": QUANTIZATION.get(name, "none: float32"),
            "size_bytes": parity.size_bytes(path),
            **parity.compare(probs, reference, labels),
            "latency_ms_p50": round(p50, 3),
            "latency_ms_p95": round(p95, 3),
            "images_per_second": round(parity.throughput(runner, images, export.batch_size), 1),
        }
        parity.check(name, figures[name], export.min_agreement, export.max_probability_diff)
    return figures, reference


def export_model(
    train_dir: Path,
    features_dir: Path,
    split_dir: Path,
    out: Path,
    export: ExportParams,
    tta: str,
    resize: str,
    seed: int,
) -> dict:
    """Write the export folder into ``out`` (run under ``runtime.keras_state(seed)``); return metrics/export.json.
    The model is the one evaluate scored (``evaluation.scoring``); ``tta`` is evaluate's views, ``resize`` how
    fetch made pictures square (for the model card), ``seed`` draws int8's calibration pictures."""
    images, labels = read_split(split_dir, "test")
    classes = read_classes(split_dir)
    model = scoring_model(train_dir, features_dir, int(images.shape[1]), tta)
    paths = write_formats(model, out, export, split_dir, seed)
    figures, reference = measure(paths, images, labels, export)
    preprocessing = {"image_size": int(images.shape[1]), "resize": resize, "classes": classes, "tta": tta}
    write_json(out / PREPROCESSING, preprocessing)
    write_text(out / "labels.txt", "".join(f"{c}\n" for c in classes))
    metrics = {
        "test_images": len(labels),
        "batch_size": export.batch_size,
        "hardware": f"CPU: {cpu_name()}, {cpu_generation()} ({available_cores()} cores)",
        "formats": figures,
        "worst_classes": worst_classes(reference, labels, classes),
    }
    summary = read_json(Path(train_dir) / "train.json")
    dataset = read_json(Path(split_dir) / "dataset.json")
    card = model_card(summary, dataset, preprocessing, metrics, metrics["worst_classes"])
    write_text(out / "model_card.md", card)
    return metrics


def export_summary(metrics: dict) -> str:
    parts = [f"{name} {f['top1']:.4f} ({f['agreement']:.2%} agree)" for name, f in metrics["formats"].items()]
    return "export: test top-1 " + ", ".join(parts) + " (the model evaluate scored, in each format)"
