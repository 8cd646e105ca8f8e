"""params.yaml's ``train`` section: how stage train runs, whatever the model."""

from __future__ import annotations

from dataclasses import dataclass

from ..constraints import AutoOrFlag, Number, OneOf, param
from ..errors import ParamsError


@dataclass(frozen=True)
class TrainParams:
    """How stage train runs, whatever the model."""

    mixed_precision: str = param("auto", OneOf(("auto", "float32", "mixed_float16", "mixed_bfloat16")))
    jit_compile: str | bool = param("auto", AutoOrFlag())
    distribution: str = param("auto", OneOf(("auto", "none", "data_parallel", "multi_process")))
    connect_timeout_s: int = param(300, Number(int, 1))  # multi_process: how long processes wait for each other to join
    peer_timeout_s: int = param(60, Number(int, 5))  # multi_process: a peer silent this long ends every process
    backend: str = param("auto", OneOf(("auto", "tensorflow", "jax", "torch")))  # Keras backend stage train runs on

    def check(self, where: str, prefix: str) -> None:
        from ..runtime import missing_backend

        if self.backend != "auto" and (problem := missing_backend(self.backend)):  # before any stage runs
            raise ParamsError(f"{where}: {problem}")
