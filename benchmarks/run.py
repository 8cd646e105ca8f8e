"""`make bench`: every benchmark, side by side, medians of repetitions; one JSON file and a printed table.

    python -m benchmarks.run [--out bench-results/bench.json] [--quick]

Sections: 1 featurize vs predict, 2 bfloat16, 3 the cache pays, 4 training
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


def table(results: dict) -> str:
    lines = []

    def add(title, rows, keys):
        if not rows:  # a section not run (--only)
            return
        lines.append(f"\n{title}")
        for row in rows if isinstance(rows, list) else [rows]:
            lines.append("  " + "  ".join(f"{k}={row.get(k)}" for k in keys if k in row))

    r = results
    if isinstance(r.get("featurize"), list):
        add(
            "1. featurize stage vs plain predict (ResNet50)",
            r["featurize"],
            [
                "image_size",
                "stage_images_per_s",
                "predict_images_per_s",
                "ratio",
                "target",
                "met",
                "gmacs_per_image",
                "achieved_gflops",
                "fraction_of_gemm_peak",
                "fraction_of_theoretical_peak",
            ],
        )
    for key, title in (
        ("bfloat16_speed", "2a. bfloat16 vs float32 featurize (ResNet50 @224)"),
        ("bfloat16_accuracy", "2b. head top-1 from float32 vs bfloat16 embeddings"),
    ):
        add(title, r.get(key, {}), list(r.get(key, {}).keys()))
    if isinstance(r.get("cache"), list):
        add(
            "3. head epoch on the cache vs through the frozen backbone",
            r["cache"],
            [
                "image_size",
                "cached_epoch_s",
                "through_backbone_epoch_s",
                "ratio",
                "target",
                "met",
                "cached_val_accuracy",
                "through_backbone_val_accuracy",
            ],
        )
    if isinstance(r.get("training"), list):
        add(
            "4. training throughput, batch 128",
            r["training"],
            [
                "model",
                "input",
                "params",
                "images_per_s",
                "fit_images_per_s",
                "fit_over_train_on_batch",
                "grouped_conv_speedup_vs_native",
            ],
        )
    if isinstance(r.get("input_pipeline"), list):
        add(
            "5. input pipeline (load + augment) vs model step",
            r["input_pipeline"],
            ["model", "pipeline_images_per_s", "model_images_per_s", "ratio", "target", "met"],
        )
    memory = r.get("memory", {})
    if "stages" in memory:
        add(
            "6. peak memory on 60,000 CIFAR-10 images",
            [{"stage": k, **v} for k, v in memory["stages"].items()],
            ["stage", "peak_rss_gb", "seconds"],
        )
        lines.append(
            f"  target {memory['target']}: met={memory['met']} (float32 copy at 224 px would be "
            f"{memory['float32_dataset_gb_at_224px']} GB)"
        )
    else:
        add("6. memory", memory, list(memory))
    add("7. DVC overhead", r.get("dvc", {}), list(r.get("dvc", {})))
    add("8. GPU", r.get("gpu", {}), list(r.get("gpu", {})))
    add(
        "9. decoding a folder of phone photos (fetch vs plain full-size decode)",
        r.get("folder_decoding", {}),
        list(r.get("folder_decoding", {})),
    )
    backend = r.get("backends", {})
    if isinstance(backend.get("rows"), list):
        add(
            "10. training per Keras backend (train_on_batch, batch 128)",
            backend["rows"],
            ["model", "backend", "xla", "images_per_s", "fraction_of_gemm_peak"],
        )
        add("    fastest / skipped / import keras (s)", backend, ["fastest", "skipped", "import_keras_seconds"])
        add("    model.fit over train_on_batch (mobilenet_v1, TensorFlow)", backend["fit"], list(backend["fit"][0]))
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
        section(results, "backends", backends.run, peaks["gemm"], only=args.only)
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
