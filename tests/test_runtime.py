"""The process-wide Keras state: the backend chosen before Keras is imported, and the train stage on it."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from fakes import REPO
from imgclf.data.arrays import write_classes, write_subset
from imgclf.errors import ParamsError
from imgclf.features.featurize import featurize
from imgclf.params import FeaturesParams
from imgclf.runtime import keras_state, select_backend
from projects import SMALL_BACKBONE

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")


def test_auto_is_the_fastest_measured_on_this_device_type():
    import keras

    if keras.backend.backend() == "tensorflow" and "KERAS_BACKEND" not in os.environ:
        assert select_backend("auto") == "tensorflow"  # measured fastest on a CPU (benchmarks/backends.py)


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
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["features"].update(SMALL_BACKBONE)
    params["models"]["head"]["epochs"] = 1
    params["train"]["backend"] = "jax"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
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
