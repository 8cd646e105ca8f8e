"""Training over several processes or machines: TensorFlow's workers on CPUs, JAX's distributed runtime on GPUs.

Every process runs the train stage on the same params and data (the stages
before train reach the other machines through a DVC remote or shared cache),
told its place by Keras' own variables: ``KERAS_DISTRIBUTION_JOB_ADDRESSES``
(host:port of every process, process 0's first), ``KERAS_DISTRIBUTION_NUM_PROCESSES``
and ``KERAS_DISTRIBUTION_PROCESS_ID``; or by ``TF_CONFIG``'s workers; under SLURM
(or Open MPI, JAX only), by the job's own variables. The engine follows the
backend (``runtime.resolve_backend``: TensorFlow on CPUs, where it trains
several times faster than JAX; JAX on GPUs): ``tf_workers`` or JAX under
Keras' DataParallel. Either way each process feeds its rows of every global
batch, the loss, gradients, metrics and BatchNormalization statistics are
global, and the same seed gives every process the same initial weights.

A peer that dies or stops answering aborts the survivors inside JAX (SIGABRT,
no Python exception), and ends TensorFlow's collectives with an error after
``train.peer_timeout_s``. So the stage runs the training in a child process
and, as its supervisor, turns such an end into one line naming the peers and
the timeout, and ends a child that has not joined within
``train.connect_timeout_s``; the stage's outputs are written only by process 0,
and only whole. Nothing here imports Keras, TensorFlow or JAX at module level:
the supervisor never does.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque

from ..errors import ParamsError
from .cluster_layout import ENV_ADDRESSES, ENV_ID, ENV_PROCESSES, Cluster, cluster_from

CHILD = "IMGCLF_CLUSTER_CHILD"  # set in the environment of the process that trains


def xla_flags(environ, peer_timeout_s: int) -> str:
    """XLA_FLAGS with a bounded wait in CPU collectives (30 minutes otherwise) for a peer alive but stuck."""
    flags = [
        f for f in environ.get("XLA_FLAGS", "").split() if not f.startswith("--xla_cpu_collective_timeout_seconds")
    ]
    return " ".join([*flags, f"--xla_cpu_collective_timeout_seconds={peer_timeout_s}"])


def start(cluster: Cluster, backend: str, connect_timeout_s: int, peer_timeout_s: int) -> None:
    """Join the cluster, before TensorFlow runs an op or JAX creates an array; every process must call it."""
    if backend == "tensorflow":
        from .tf_workers import start as start_workers

        return start_workers(cluster, peer_timeout_s)
    import jax

    jax.distributed.initialize(
        coordinator_address=cluster.coordinator,
        num_processes=cluster.processes if cluster.addresses else None,
        process_id=cluster.index if cluster.addresses else None,
        initialization_timeout=connect_timeout_s,
        heartbeat_timeout_seconds=peer_timeout_s,
    )


def first_difference(mine: dict, theirs: dict) -> str | None:
    """The first key (in ``mine``'s order, then ``theirs``') whose value differs, or None."""
    for key in [*mine, *(k for k in theirs if k not in mine)]:
        if mine.get(key, "(absent)") != theirs.get(key, "(absent)"):
            return key
    return None


def same_run(cluster: Cluster, fingerprint: dict) -> None:
    """Refuse, on every process alike, to train together runs that differ in params, data or code.

    Each process's ``resume.run_fingerprint`` is gathered on all: any difference
    would mix two recipes in one model (and, through process 0's checkpoint, be
    resumed and recorded as if it were one).
    """
    from .collectives import gathered_json

    everyone = gathered_json(fingerprint)
    for other, theirs in enumerate(everyone):
        key = first_difference(everyone[0], theirs)
        if key is None:
            continue
        first, here = everyone[0].get(key, "(absent)"), theirs.get(key, "(absent)")
        shown = (
            "" if key.startswith(("data in", "code of")) else f": {first!r} on process 0, {here!r} on process {other}"
        )
        raise ParamsError(
            f"train, {cluster.describe()}: process {other} was started on another run than process 0; the first "
            f"difference is {key}{shown}. Every process needs the same params.yaml, data and code "
            "(docs/distribution.md); nothing was trained or written"
        )


# What JAX and gloo print when a peer is gone, and what it means for the one-line message.
PEER_LOST = re.compile(
    r"Connection reset by peer|Connection refused|heartbeat|Gloo .* failed|DEADLINE_EXCEEDED|DeadlineExceeded|"
    r"timed out|Timed out|UNAVAILABLE|barrier|coordination service|Collective ops is aborted|peer .* is down|"
    r"Socket closed|failed to connect",
    re.IGNORECASE,
)


JOINED = "joined the cluster"  # the child says so on stderr once every process has connected


def diagnosis(
    cluster: Cluster, code: int, tail: list[str], joined: bool, connect_timeout_s: int, peer_timeout_s: int
) -> str:
    """One line for a training child that ended without a message of its own (an abort inside JAX)."""
    text = "\n".join(tail)
    others = [i for i in range(cluster.processes) if i != cluster.index]
    named = [f"process {i}" + (f" at {cluster.addresses[i]}" if i < len(cluster.addresses) else "") for i in others]
    peers = named[0] if len(named) == 1 else f"one of {', '.join(named)}"
    how = f"ended by signal {-code}" if code < 0 else f"ended with exit code {code}"
    if not joined:
        reason = f"could not reach {peers} within train.connect_timeout_s ({connect_timeout_s} s)"
    elif PEER_LOST.search(text) or code == -6:
        reason = f"lost {peers}: no answer within train.peer_timeout_s ({peer_timeout_s} s)"
    else:
        reason = f"stopped ({how})"
    return f"train, {cluster.describe()}: {reason}; nothing was written to the stage's outputs"


def _die_with_parent() -> None:
    """In the training child (Linux): be killed when the supervisor dies, even by SIGKILL, so a killed
    process never leaves its training running on, holding its peers."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _relay_stdout(stream) -> None:
    for line in stream:
        if not line.startswith("[Gloo]"):  # gloo announces every connection on stdout
            sys.stdout.write(line)
            sys.stdout.flush()


# JAX's and absl's abort dump, and the RPC a failed join names on a line of its own
NATIVE_DUMP = ("F0000", "E0000", "W0000", "*** ", "PC: ", "    @", "RPC: /")


def _relay_stderr(stream, tail: deque, held: list, joined: threading.Event) -> bool:
    """Pass the child's own messages on; hold a traceback and JAX's abort dump back. Whether it joined."""
    for line in stream:
        tail.append(line.rstrip("\n"))
        if JOINED in line:
            joined.set()
        if held or line.startswith("Traceback (most recent call last)"):
            held.append(line)  # the child is ending: summarized, or shown whole if it is not a lost peer
        elif not PEER_LOST.search(line) and not line.startswith(NATIVE_DUMP):
            sys.stderr.write(line)
    return joined.is_set()


def supervise(argv: list[str], cluster: Cluster, connect_timeout_s: int, peer_timeout_s: int) -> int:
    """Run this stage again as the training child; relay its output; return its exit code, printing one line
    for an end that printed none. Every timeout is bounded, so this returns within them."""
    env = {**os.environ, CHILD: "1", "XLA_FLAGS": xla_flags(os.environ, peer_timeout_s)}
    start_time, tail, held = time.monotonic(), deque(maxlen=60), []
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "bufsize": 1}
    child = subprocess.Popen([sys.executable, *argv], env=env, preexec_fn=_die_with_parent, **pipes)
    relay = threading.Thread(target=_relay_stdout, args=(child.stdout,), daemon=True)
    relay.start()
    joining = threading.Event()
    # TensorFlow's workers wait for their peers without a bound of their own: a child not joined in time ends
    deadline = threading.Timer(connect_timeout_s + 10, lambda: joining.is_set() or child.kill())
    deadline.daemon = True
    deadline.start()
    try:
        joined = _relay_stderr(child.stderr, tail, held, joining)
        code = child.wait()
        relay.join(timeout=5)
    except KeyboardInterrupt:
        child.wait()
        raise
    finally:
        deadline.cancel()
    if code == 0 or (code in (1, 130) and any(line.startswith(("error: ", "interrupted: ")) for line in tail)):
        return code  # the child said what happened itself
    lost = not joined or code < 0 or PEER_LOST.search("\n".join(tail))
    if not lost:
        sys.stderr.writelines(held)  # not a peer: a failure of its own, shown whole
    line = diagnosis(cluster, code, list(tail), joined, connect_timeout_s, peer_timeout_s)
    print(f"error: {line} (after {time.monotonic() - start_time:.0f} s)", file=sys.stderr)
    return 1


def join(train, argv: list[str]) -> tuple[Cluster | None, int | None]:
    """(the cluster this train stage is part of, joined; the exit code when this process only supervised).

    ``train`` is params' train section. For a single process: (None, None). In a
    cluster, the stage process becomes the supervisor: it runs the stage again as
    the training child and returns (cluster, its exit code); in that child, the
    cluster is joined and (cluster, None) returned.
    """
    if train.distribution in ("none", "data_parallel"):
        return None, None
    cluster = cluster_from()
    if cluster is None:
        if train.distribution == "multi_process":
            raise ParamsError(
                f"train.distribution 'multi_process' needs {ENV_ADDRESSES}, {ENV_PROCESSES} and {ENV_ID} set for "
                "every process (docs/distribution.md), or a SLURM or Open MPI job of several tasks"
            )
        return None, None
    from ..runtime import resolve_backend

    backend = resolve_backend(train.backend, cluster=True)
    if backend not in ("tensorflow", "jax"):
        raise ParamsError(
            f"training over {cluster.processes} processes runs on the tensorflow (CPUs) or jax (GPUs) Keras "
            f"backend; train.backend (or KERAS_BACKEND) is {backend!r}"
        )
    os.environ["KERAS_BACKEND"] = backend
    if os.environ.get(CHILD) != "1":
        return cluster, supervise(argv, cluster, train.connect_timeout_s, train.peer_timeout_s)
    start(cluster, backend, train.connect_timeout_s, train.peer_timeout_s)
    print(f"train: {cluster.describe()} {JOINED}", file=sys.stderr, flush=True)
    return cluster, None
