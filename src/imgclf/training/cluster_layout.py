"""Where the processes that train one model are: the layout the environment describes (Keras' variables,
TF_CONFIG, SLURM, Open MPI), read before anything is imported or joined (training/cluster.py joins it)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

from ..errors import ParamsError

ENV_ADDRESSES, ENV_PROCESSES, ENV_ID = (
    f"KERAS_DISTRIBUTION_{k}" for k in ("JOB_ADDRESSES", "NUM_PROCESSES", "PROCESS_ID")
)


@dataclass(frozen=True)
class Cluster:
    processes: int
    index: int
    addresses: tuple[str, ...]  # host:port per process, the coordinator first; () when JAX finds them (SLURM, MPI)
    source: str  # where the layout came from, for train.json and messages

    @property
    def coordinator(self) -> str | None:
        return self.addresses[0] if self.addresses else None

    def describe(self) -> str:
        where = f"coordinator {self.coordinator}" if self.coordinator else f"addresses from {self.source}"
        return f"process {self.index} of {self.processes} ({where})"


def _integer(environ, name: str) -> int:
    try:
        return int(environ[name])
    except ValueError:
        raise ParamsError(f"{name} must be an integer; got {environ[name]!r}") from None


def cluster_from(environ=os.environ) -> Cluster | None:
    """The process layout the environment describes, or None for a single process."""
    if ENV_PROCESSES in environ:
        processes, index = _integer(environ, ENV_PROCESSES), _integer(environ, ENV_ID) if ENV_ID in environ else -1
        addresses = tuple(a.strip() for a in environ.get(ENV_ADDRESSES, "").split(",") if a.strip())
        if processes < 2:
            return None
        if not 0 <= index < processes:
            raise ParamsError(f"{ENV_ID} must be 0..{processes - 1} for {ENV_PROCESSES}={processes}; got {index}")
        if not addresses or any(not re.fullmatch(r"[^\s:]+:\d+", a) for a in addresses):
            raise ParamsError(
                f"{ENV_ADDRESSES} must list host:port, process 0's first; got {environ.get(ENV_ADDRESSES)!r}"
            )
        return Cluster(processes, index, addresses, "KERAS_DISTRIBUTION_*")
    if environ.get("TF_CONFIG"):
        return _tf_config(environ["TF_CONFIG"])
    for size, rank, source in (
        ("SLURM_NTASKS", "SLURM_PROCID", "SLURM"),
        ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "Open MPI"),
    ):
        if size in environ and rank in environ and _integer(environ, size) > 1:
            return Cluster(_integer(environ, size), _integer(environ, rank), (), source)
    return None


def _tf_config(text: str) -> Cluster | None:
    """TF_CONFIG's workers: ``{"cluster": {"worker": [host:port, ...]}, "task": {"type": "worker", "index": i}}``."""
    try:
        config = json.loads(text)
        workers, task = config["cluster"]["worker"], config["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError):
        raise ParamsError(
            'TF_CONFIG must be {"cluster": {"worker": [host:port, ...]}, "task": {"type": "worker", "index": i}}; '
            f"got {text[:200]!r}"
        ) from None
    if set(config["cluster"]) != {"worker"}:
        raise ParamsError(
            f"TF_CONFIG: only workers take part (no chief or ps); its cluster has {sorted(config['cluster'])}"
        )
    if task.get("type") != "worker":
        raise ParamsError(f'TF_CONFIG: the task\'s "type" must be "worker"; got {task.get("type")!r}')
    if len(workers) < 2:
        return None
    if not 0 <= index < len(workers):
        raise ParamsError(f"TF_CONFIG's task index must be 0..{len(workers) - 1}; got {index}")
    return Cluster(len(workers), index, tuple(workers), "TF_CONFIG")
