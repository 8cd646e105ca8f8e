"""Timing helpers: medians of repetitions, side-by-side ratios, and the hardware stamp."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

# The real CIFAR JPEGs and ImageNet weights; sections that need them skip without.
SHARED = Path(os.environ.get("IMGCLF_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def median_seconds(fn: Callable[[], object], repeats: int = 3, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time of ``fn`` over ``repeats`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def interleaved(fns: dict[str, Callable[[], object]], repeats: int = 3, warmup: int = 1) -> dict[str, float]:
    """Median seconds of each fn, measured in alternation so machine noise hits all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def gemm_peak_flops(sizes: tuple[int, ...] = (1024, 2048, 3072), repeats: int = 7, rounds: int = 3) -> float:
    """Best float32 FLOP/s of large matrix products through TensorFlow: the practical peak of this CPU.

    The best over several sizes, repetitions and rounds a second apart: a single run on a busy machine
    measured a "peak" that convolutions then exceeded (fractions of 1.24).
    """
    import tensorflow as tf

    matmul = tf.function(lambda x, y: tf.matmul(x, y))
    best = 0.0
    for _ in range(rounds):
        for size in sizes:
            a, b = tf.random.normal((size, size)), tf.random.normal((size, size))
            matmul(a, b).numpy()
            for _ in range(repeats):
                start = time.perf_counter()
                matmul(a, b).numpy()
                best = max(best, 2 * size**3 / (time.perf_counter() - start))
        time.sleep(1.0)
    return best


def fractions_of_peak(achieved_flops: float, peaks: dict[str, float | None]) -> dict:
    """``fraction_of_<name>_peak`` for each known peak, never above 1: a rate above a measured peak means
    the peak was measured low (another load), and is said so rather than reported as more than 100%."""
    out = {}
    for name, peak in peaks.items():
        if not peak:
            continue
        out[f"fraction_of_{name}_peak"] = round(min(1.0, achieved_flops / peak), 4)
        if achieved_flops > peak:
            out[f"{name}_peak_exceeded_by"] = round(achieved_flops / peak, 3)
    return out


def theoretical_peak_flops() -> float | None:
    """Cores x clock x float32 FLOPs per cycle (two FMA pipes: 32 with AVX2, 64 with AVX-512); None off Linux."""
    from imgclf.hardware import cpu_flags

    flags = cpu_flags()
    try:
        with open("/proc/cpuinfo") as fh:
            mhz = max(float(line.split(":")[1]) for line in fh if line.startswith("cpu MHz"))
    except (OSError, ValueError):
        return None
    per_cycle = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= flags else 8
    return (os.cpu_count() or 1) * mhz * 1e6 * per_cycle


def model_macs(model) -> int:
    """Multiply-accumulates of one forward pass, counted from the layers' shapes (convolutions and dense)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += model_macs(layer)
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)):
            kernel = layer.kernel.shape  # (kh, kw, in/groups, out) | (kh, kw, in, multiplier) | (in, out)
            out_positions = int(np.prod(layer.output.shape[1:-1])) if len(layer.output.shape) > 2 else 1
            total += out_positions * int(np.prod(kernel))  # per output position: the whole kernel, once
    return total


def stamp() -> dict:
    from imgclf.hardware import cpu_flags, run_info

    info = run_info()
    flags = cpu_flags()
    info["cpu_flags"] = sorted(flags & {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile"})
    info["cpu_count"] = os.cpu_count()
    return info


def random_images(n: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
