"""`make bench`: every benchmark, side by side, medians of repetitions; one JSON file and a printed table.

    python -m benchmarks.run [--out bench-results/bench.json] [--quick]

Sections: 1 featurize vs predict, 2 bfloat16 (featurize, top-1, training), 3 the cache pays, 4 training
throughput, 5 input pipeline, 6 memory, 7 DVC overhead, 8 GPU (when there is one),
9 decoding a folder of phone photos, 10 training speed per Keras backend.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("IMGCLF_NO_PROGRESS", "1")


def section(results: dict, name: str, fn, *args, only=None):
    if only and name not in only:
        return None
    print(f"== {name} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        results[name] = fn(*args)
    except Exception as exc:  # a broken section is reported, the others still run
        results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    print(f"   {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return results[name]


def gpu_section(rates) -> dict:
    from imgclf.hardware import accelerators

    gpus = accelerators()
    if not gpus:
        return {"skipped": "no GPU on this machine; run `make bench` on a GPU host for mixed-precision/XLA figures"}
    return {"gpus": gpus, "note": "CPU-style throughput table above was measured on the GPU host"}


# The printed summary: (result key, title, columns; None = every key the section returned). A section's rows
# may sit under a sub-key ("stages", "rows"); a section not run (--only) or failed prints what it returned.
TABLE = [
    (
        "featurize",
        "1. featurize stage vs plain predict (ResNet50)",
        [
            "image_size",
            "stage_images_per_s",
            "predict_images_per_s",
            "ratio",
            "met",
            "achieved_gflops",
            "fraction_of_gemm_peak",
            "fraction_of_theoretical_peak",
        ],
    ),
    ("bfloat16_speed", "2a. bfloat16 vs float32 featurize (ResNet50 @224)", None),
    ("bfloat16_training", "2c. mixed_bfloat16 vs float32 training (train_on_batch, batch 128)", None),
    ("bfloat16_accuracy", "2b. head top-1 from float32 vs bfloat16 embeddings", None),
    (
        "cache",
        "3. head epoch on the cache vs through the frozen backbone",
        [
            "image_size",
            "cached_epoch_s",
            "through_backbone_epoch_s",
            "ratio",
            "met",
            "cached_val_accuracy",
            "through_backbone_val_accuracy",
        ],
    ),
    (
        "training",
        "4. training throughput, batch 128",
        [
            "model",
            "input",
            "params",
            "images_per_s",
            "fit_images_per_s",
            "fit_over_train_on_batch",
            "grouped_conv_speedup_vs_native",
        ],
    ),
    (
        "input_pipeline",
        "5. input pipeline (load + augment) vs model step",
        ["model", "pipeline_images_per_s", "model_images_per_s", "ratio", "met"],
    ),
    ("memory.stages", "6. peak memory on 60,000 CIFAR-10 images (target < 2 GB)", ["stage", "peak_rss_gb", "seconds"]),
    ("dvc", "7. DVC overhead", None),
    ("gpu", "8. GPU", None),
    ("folder_decoding", "9. decoding a folder of phone photos (fetch vs plain full-size decode)", None),
    (
        "backends.rows",
        "10. training per Keras backend (train_on_batch)",
        ["model", "backend", "xla", "batch", "images_per_s", "fraction_of_gemm_peak", "fraction_of_theoretical_peak"],
    ),
    ("backends.fit", "    model.fit over train_on_batch (mobilenet_v1, TensorFlow)", None),
    ("backends.multiprocess", "    two processes against one on this machine (JAX)", None),
]


def rows_of(results: dict, key: str) -> list[dict]:
    """The rows under a dotted key: a list of dicts, a dict of dicts (named rows), or one dict."""
    value = results
    for part in key.split("."):
        value = value.get(part, {}) if isinstance(value, dict) else {}
    if isinstance(value, list):
        return value
    if value and all(isinstance(v, dict) for v in value.values()):
        return [{"stage": name, **row} for name, row in value.items()]
    return [value] if value else []


def table(results: dict) -> str:
    lines = []
    for key, title, columns in TABLE:
        rows = rows_of(results, key)
        if not rows:
            continue
        lines.append(f"\n{title}")
        for row in rows:
            shown = columns or list(row)
            lines.append("  " + "  ".join(f"{k}={row[k]}" for k in shown if k in row))
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="bench-results/bench.json")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="run only these sections (e.g. folder_decoding)")
    args = parser.parse_args(argv)

    from . import backends, bfloat16, cache_pays, dvc_overhead, featurize_speed, folder_decoding, memory, train_speed
    from .harness import gemm_peak_flops, stamp, theoretical_peak_flops

    started = time.perf_counter()
    results: dict = {"hardware": stamp()}
    peaks = {"gemm": gemm_peak_flops(), "theoretical": theoretical_peak_flops()}
    results["peak_gflops"] = {name: round(peak / 1e9, 1) for name, peak in peaks.items() if peak}
    with tempfile.TemporaryDirectory(prefix="imgclf-bench-") as tmp:
        tmp = Path(tmp)
        section(results, "featurize", featurize_speed.run, peaks, args.repeats, only=args.only)
        section(results, "bfloat16_speed", bfloat16.speed, args.repeats, only=args.only)
        section(results, "bfloat16_training", bfloat16.training_speed, args.repeats, only=args.only)
        section(results, "cache", lambda: [cache_pays.run(224), cache_pays.run(32)], only=args.only)
        rates = section(
            results,
            "training",
            lambda: [*train_speed.training_rates(), train_speed.linear_probe_rate()],
            only=args.only,
        )
        if isinstance(rates, list):
            section(results, "input_pipeline", train_speed.input_pipeline, rates, tmp, only=args.only)
        mem = section(results, "memory", memory.run, tmp / "memory", only=args.only)
        raw = Path(mem["raw"]) if isinstance(mem, dict) and "raw" in mem else None
        section(results, "bfloat16_accuracy", bfloat16.accuracy, raw, tmp / "bf16", only=args.only)
        section(results, "dvc", dvc_overhead.run, tmp / "dvc", only=args.only)
        section(results, "gpu", gpu_section, rates, only=args.only)
        section(results, "folder_decoding", folder_decoding.run, tmp / "photos", args.repeats, only=args.only)
        section(results, "backends", backends.run, peaks, only=args.only)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    hw = results["hardware"]
    print(
        f"imgclf benchmarks on {hw['device']} ({hw['cpu_count']} cores, flags {hw['cpu_flags']}), "
        f"Keras {hw['keras']} / {hw['backend']}; float32 peak GFLOP/s {results['peak_gflops']} "
        f"(gemm: a 2048^2 matmul; theoretical: cores x clock x FMA width)"
    )
    print(table(results))
    print(f"\ntotal {results['total_seconds']} s -> {out}")


if __name__ == "__main__":
    main()
