"""What a figure was measured on: host, accelerator, backend and library versions."""

from __future__ import annotations

import os
import platform
import sys
from functools import cache


@cache
def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@cache
def cpu_generation() -> str:
    """The CPU as "family F model M" of /proc/cpuinfo. Virtual machines often name only "AMD EPYC": two 2-core machines
    of that name here timed the same airbench epoch at 161 s and 88 s (``imgclf plan``; the second family 26)."""
    found = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("cpu family", "model") and key.strip() not in found:
                    found[key.strip()] = value.strip()
                if len(found) == 2:
                    break
    except OSError:
        pass
    return f"family {found['cpu family']} model {found['model']}" if len(found) == 2 else "unknown"


@cache
def cpu_flags() -> frozenset[str]:
    """Instruction-set flags of this CPU (Linux); empty where unknown."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def native_bfloat16() -> bool:
    """True where the CPU computes bfloat16 in hardware (AVX512-BF16 or AMX)."""
    return bool(cpu_flags() & BFLOAT16_FLAGS)


def accelerators() -> list[str]:
    """Names of the GPUs the active Keras backend can use (empty on CPU)."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    if backend == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform != "cpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def run_info() -> dict:
    """A stamp saved next to every model and metrics file."""
    import keras

    from . import __version__

    gpus = accelerators()
    info = {
        "imgclf": __version__,
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "device": ", ".join(gpus) if gpus else f"CPU: {cpu_name()}",
        "cpu": cpu_name(),
        "cpu_generation": cpu_generation(),
        "bfloat16_units": native_bfloat16(),
        "cpu_count": os.cpu_count(),
        "gpus": gpus,
    }
    if info["backend"] == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
    return info
