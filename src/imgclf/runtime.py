"""The process-wide Keras state a stage runs under: its backend, random seed and dtype policy, and a quiet start.

Library functions never set these; a stage's entry point opens ``keras_state``
once, and the policy is put back when it closes, so tests and notebooks that
build several models in one process see no leftovers.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator

_INTERRUPTED = threading.Event()  # set by the SIGINT handler: process state, like the signal itself
_REMEMBERING_HANDLER: list = [None]  # the innermost ``interrupts_remembered`` handler, None outside one

# What TensorFlow's and LiteRT's C++ code print on every start: absl's pre-init notice, oneDNN and CUDA probing
# on a machine without a GPU, CPU-feature notes, delegate creation. TF_CPP_MIN_LOG_LEVEL does not reach the lines
# absl writes before its logging is initialized, so they are filtered at the file-descriptor level instead.
NATIVE_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog|[IWE]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\]|"
    r"To enable the following instructions|rebuild TensorFlow with the appropriate compiler flags|"
    r"INFO: Created TensorFlow Lite XNNPACK delegate"
)


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Hold back what C++ code writes to stderr in the block; pass on every line that is not known noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines():
                if line.strip() and not NATIVE_NOISE.search(line):
                    print(line, file=sys.stderr)


def start_keras(backend: str = "auto", cluster: bool = False):
    """Import Keras on ``backend`` (see ``select_backend``) and initialize its devices, quietly; return keras.

    Call it before importing library modules that import Keras, so their start-up chatter is held back too.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    select_backend(backend, cluster)
    with quiet_native_logs():
        import keras

        keras.ops.convert_to_numpy(keras.ops.zeros(1))  # the first op probes the devices (cuInit)
    return keras


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Build the models of the block under Keras dtype policy ``name``; the previous policy is put back after."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@contextlib.contextmanager
def keras_state(seed: int, policy: str = "float32") -> Iterator[None]:
    """Seed Python's, NumPy's and the backend's generators, and build models under dtype policy ``policy``."""
    import keras

    keras.utils.set_random_seed(seed)
    with dtype_policy(policy):
        yield


# train.backend: auto picks the fastest measured per device type (benchmarks/backends.py, docs/benchmarks.md).
# CPU: TensorFlow without XLA, measured. GPU: not measured in this project (no GPU here); TensorFlow until it is.
FASTEST = {"cpu": "tensorflow", "gpu": "tensorflow"}
# Several processes: TensorFlow's workers on CPUs (0.93 of a lone process's speed in each, where JAX's ran at
# 0.1-0.25: docs/distribution.md); JAX's runtime on GPUs (NCCL under Keras' DataParallel).
FASTEST_CLUSTER = {"cpu": "tensorflow", "gpu": "jax"}
BACKENDS = ("tensorflow", "jax", "torch")


def missing_backend(name: str) -> str | None:
    """The one-line reason backend ``name`` cannot run here, or None: params validation and the stage say the same."""
    import importlib.util

    if importlib.util.find_spec(name) is None:
        return (
            f"train.backend {name!r} needs the {name} package, which is not installed (pip install {name}); "
            "or set train.backend: auto"
        )
    return None


def _device() -> str:
    return "gpu" if os.path.exists("/proc/driver/nvidia/gpus") and os.listdir("/proc/driver/nvidia/gpus") else "cpu"


# Each "auto" of params.yaml's train section has one resolver here; the train stage calls them once, into its
# training job (training/job.py), and nothing below re-reads the setting.


def resolve_backend(setting: str, environ=os.environ, cluster: bool = False, device: str | None = None) -> str:
    """train.backend: ``auto`` keeps a ``KERAS_BACKEND`` the user exported, else the fastest for the device
    (``FASTEST``; ``FASTEST_CLUSTER`` for several processes: the engine the stage joins, training/cluster.py)."""
    if setting != "auto":
        return setting
    return environ.get("KERAS_BACKEND") or (FASTEST_CLUSTER if cluster else FASTEST)[device or _device()]


def resolve_precision(setting: str, gpus: int) -> str:
    """train.mixed_precision as a Keras dtype policy: ``auto`` is mixed_float16 on a GPU, float32 on a CPU (where
    bfloat16 pays for some models only, docs/models.md, and float32 computes the same on every CPU)."""
    if setting != "auto":
        return setting
    return "mixed_float16" if gpus else "float32"


def resolve_jit(setting, backend: str, gpus: int, replicas: int = 1) -> bool:
    """train.jit_compile as a bool: ``auto`` is Keras' own rule for its ``"auto"`` (XLA on JAX, and on TensorFlow
    with an accelerator and no tf.distribute strategy; never on PyTorch). A model with a layer XLA cannot
    compile still falls back, as Keras does for ``jit_compile=True``."""
    if isinstance(setting, bool):
        return setting
    if backend == "torch":
        return False
    if backend == "tensorflow":
        return bool(gpus) and replicas == 1
    return True


def resolve_distribution(setting: str, cluster: bool, gpus: int) -> str:
    """train.distribution: ``auto`` is several processes when the stage joined a cluster, data-parallel over
    several GPUs, else one device."""
    if setting != "auto":
        return setting
    if cluster:
        return "multi_process"
    return "data_parallel" if gpus > 1 else "none"


def select_backend(choice: str, cluster: bool = False) -> str:
    """Set ``KERAS_BACKEND`` for ``choice`` (see ``resolve_backend``) before Keras is imported; return it.

    A backend whose package is missing fails with one line naming it; so does asking for another backend once
    Keras is imported.
    """
    from .errors import ParamsError

    name = resolve_backend(choice, cluster=cluster)
    if name not in BACKENDS:
        raise ParamsError(f"KERAS_BACKEND must be one of {', '.join(BACKENDS)}; got {name!r}")
    if problem := missing_backend(name):
        raise ParamsError(problem)
    if "keras" in sys.modules and sys.modules["keras"].backend.backend() != name:
        raise ParamsError(
            f"train.backend {name!r}: Keras is already imported with {sys.modules['keras'].backend.backend()!r}"
        )
    os.environ["KERAS_BACKEND"] = name
    return name


@contextlib.contextmanager
def interrupts_remembered() -> Iterator[None]:
    """In the block, Ctrl-C (SIGINT) is remembered, not only raised.

    Python raises KeyboardInterrupt wherever the main thread happens to be, and
    where that is a ``__del__``, a weakref callback or a garbage collection pass
    (TensorFlow runs many) the exception is printed as "ignored" and dropped, so
    the run carried on and ended 0. The flag survives that; long loops and the
    output commit call ``raise_if_interrupted``. The previous handler is put back after.
    """

    def handler(signum, frame):
        _INTERRUPTED.set()
        raise KeyboardInterrupt

    _INTERRUPTED.clear()
    previous = signal.signal(signal.SIGINT, handler)
    _REMEMBERING_HANDLER.insert(0, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _REMEMBERING_HANDLER.pop(0)
        _INTERRUPTED.clear()


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """In the block, a first Ctrl-C is only remembered, never raised where it lands; a second one raises at once.

    Raised wherever the main thread happens to be in a TensorFlow step (a data
    callback, a finalizer), the KeyboardInterrupt unwinds through code that was
    not written for it, and the process was seen to abort ("free(): invalid next
    size", SIGABRT) before it said anything. Training raises the remembered one
    itself after the batch (``training.fit.StopOnInterrupt``), in plain Python.
    Outside the main thread, where signals cannot be handled, it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if _INTERRUPTED.is_set():
            raise KeyboardInterrupt
        _INTERRUPTED.set()

    previous = signal.signal(signal.SIGINT, handler)
    remembered_outside = previous is not None and previous is _REMEMBERING_HANDLER[0]
    try:
        yield
        if _INTERRUPTED.is_set():  # it came after the last batch
            raise KeyboardInterrupt
    finally:
        signal.signal(signal.SIGINT, previous)
        if not remembered_outside:
            _INTERRUPTED.clear()  # raised once; nobody outside remembers it


def raise_if_interrupted() -> None:
    """KeyboardInterrupt if Ctrl-C came in ``interrupts_remembered``, even if its first raise was swallowed."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt
