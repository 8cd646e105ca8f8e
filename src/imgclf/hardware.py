"""What a figure was measured on: host, accelerator, backend and library versions."""

from __future__ import annotations

import os
import platform
import sys
from functools import cache


@cache
def _cpuinfo() -> dict[str, str]:
    """The first value of each field of /proc/cpuinfo (one CPU's); empty where there is none (not Linux)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, sep, value = line.partition(":")
                if sep:
                    fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def cpu_name() -> str:
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_generation() -> str:
    """The CPU as "family F model M". Virtual machines often name only "AMD EPYC": two 2-core machines of that
    name here timed the same airbench epoch at 161 s and 88 s (``imgclf plan``; the second family 26)."""
    info = _cpuinfo()
    if "cpu family" not in info or "model" not in info:
        return "unknown"
    return f"family {info['cpu family']} model {info['model']}"


def cpu_flags() -> frozenset[str]:
    """Instruction-set flags of this CPU (Linux); empty where unknown."""
    return frozenset(_cpuinfo().get("flags", "").split())


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
