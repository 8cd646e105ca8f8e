"""The process-wide Keras state: the backend chosen before Keras is imported, and the train stage on it."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fakes import REPO, write_params
from imgclf.data.arrays import write_classes, write_subset
from imgclf.errors import ParamsError
from imgclf.features.featurize import featurize
from imgclf.params import FeaturesParams
from imgclf.runtime import (
    keras_state,
    resolve_backend,
    resolve_distribution,
    resolve_jit,
    resolve_precision,
    select_backend,
)
from projects import SMALL_BACKBONE

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")


@pytest.mark.parametrize(
    "setting, environ, cluster, device, expected",
    [
        ("auto", {}, False, "cpu", "tensorflow"),  # measured fastest on a CPU (benchmarks/backends.py)
        ("auto", {}, True, "cpu", "tensorflow"),  # several processes on CPUs: TensorFlow's workers (tf_workers.py)
        ("auto", {}, True, "gpu", "jax"),  # ... on GPUs: JAX's distributed runtime
        ("auto", {"KERAS_BACKEND": "torch"}, False, "cpu", "torch"),  # the user's own choice, kept
        ("auto", {"KERAS_BACKEND": "torch"}, True, "cpu", "torch"),  # ... which the cluster then refuses
        ("jax", {"KERAS_BACKEND": "torch"}, False, "gpu", "jax"),  # a named backend is the backend
    ],
)
def test_train_backend_auto_has_one_answer_for_every_caller(setting, environ, cluster, device, expected):
    """The stage, the cluster join and params validation once answered "auto" differently (tensorflow, the
    fastest, jax); they all ask resolve_backend now."""
    assert resolve_backend(setting, environ, cluster, device) == expected


def test_the_other_autos_resolve_as_documented():
    assert [resolve_precision("auto", gpus) for gpus in (0, 1)] == ["float32", "mixed_float16"]
    assert resolve_precision("mixed_bfloat16", 0) == "mixed_bfloat16"
    # Keras' own "auto": XLA on JAX, on TensorFlow only with an accelerator and no tf.distribute strategy
    assert [resolve_jit("auto", "tensorflow", gpus, replicas) for gpus, replicas in ((0, 1), (1, 1), (2, 2))] == [
        False,
        True,
        False,
    ]
    assert (resolve_jit("auto", "jax", 0), resolve_jit("auto", "torch", 1), resolve_jit(True, "torch", 0)) == (
        True,
        False,
        True,
    )
    assert [resolve_distribution("auto", cluster, gpus) for cluster, gpus in ((False, 0), (False, 2), (True, 0))] == [
        "none",
        "data_parallel",
        "multi_process",
    ]


def test_no_module_but_the_resolvers_decides_what_a_train_setting_auto_means():
    """One resolver per setting: anywhere else, comparing a train setting with "auto" is a second answer."""
    import re

    pattern = re.compile(
        r"\b(?:train|runtime)\.(?:backend|mixed_precision|jit_compile|distribution)\s*[!=]=\s*[\"']auto"
    )
    offenders = [
        str(path.relative_to(REPO))
        for path in [*(REPO / "src" / "imgclf").rglob("*.py"), *(REPO / "stages").glob("*.py")]
        if path.name != "runtime.py" and pattern.search(path.read_text())
    ]
    assert offenders == []


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed here")
def test_a_backend_whose_package_is_missing_fails_with_one_line_naming_it():
    with pytest.raises(ParamsError, match=r"train.backend 'torch' needs the torch package, which is not installed"):
        select_backend("torch")


def test_another_backend_after_keras_is_imported_is_refused():
    import keras

    other = "jax" if keras.backend.backend() != "jax" else "tensorflow"
    with pytest.raises(ParamsError, match="Keras is already imported with"):
        select_backend(other)


@needs_jax
def test_the_train_stage_trains_on_the_backend_params_name(tmp_path):
    """train.backend: jax, with KERAS_BACKEND unset: the stage process trains under JAX and records it."""
    rng = np.random.default_rng(0)
    for name, n in (("train", 8), ("val", 4), ("test", 4)):
        write_subset(tmp_path / "split", name, rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n) % 2)
    write_classes(tmp_path / "split", ["a", "b"])
    with keras_state(0):
        featurize(tmp_path / "split", tmp_path / "features", FeaturesParams(**SMALL_BACKBONE), seed=0)[0].save(
            tmp_path / "features"
        )
    write_params(tmp_path, {"features": SMALL_BACKBONE, "models": {"head": {"epochs": 1}}, "train": {"backend": "jax"}})
    t = str(tmp_path)
    args = ["--split", f"{t}/split", "--features", f"{t}/features", "--checkpoints", f"{t}/ckpt"]
    args += ["--out", f"{t}/train", "--timing", f"{t}/train_timing.json", "--progress", f"{t}/progress.csv"]
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"} | {"JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, str(REPO / "stages" / "train.py"), *args], cwd=t, env=env, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert json.loads((tmp_path / "train" / "train.json").read_text())["run"]["backend"] == "jax"


def test_starting_keras_prints_none_of_tensorflows_start_up_chatter():
    """absl's pre-init notice, oneDNN, the CUDA probe on a machine without a GPU: not errors, so not shown;
    anything else a native library writes still is."""
    code = (
        "import os, sys; from imgclf.runtime import quiet_native_logs, start_keras; start_keras(); "
        "sys.stderr.write('ours\\n'); sys.stderr.flush()\n"
        "with quiet_native_logs(): os.write(2, b'E0000 00:00:1.2 7 cuda_platform.cc:52] cuInit\\nkept\\n')"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}  # even at the most verbose setting
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "ours\nkept\n"
