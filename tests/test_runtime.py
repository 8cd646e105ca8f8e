"""The process-wide Keras state: the backend chosen before Keras is imported."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from imgclf.errors import ParamsError
from imgclf.runtime import select_backend

PROBE = "import json, os, sys; from imgclf.runtime import select_backend; name = select_backend(sys.argv[1]); "
PROBE += "import keras; print(json.dumps([name, keras.backend.backend()]))"


def chosen(choice: str, **env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run([sys.executable, "-c", PROBE, choice], env={**clean, **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_the_backend_is_set_before_keras_loads_and_auto_keeps_the_users_choice():
    assert chosen("jax") == ["jax", "jax"]
    assert chosen("auto") == ["tensorflow", "tensorflow"]  # the fastest measured on a CPU
    assert chosen("auto", KERAS_BACKEND="jax") == ["jax", "jax"]  # what the user exported wins over auto


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed here")
def test_a_backend_whose_package_is_missing_fails_with_one_line_naming_it():
    with pytest.raises(ParamsError, match=r"train.backend 'torch' needs the torch package, which is not installed"):
        select_backend("torch")


def test_another_backend_after_keras_is_imported_is_refused():
    import keras

    other = "jax" if keras.backend.backend() != "jax" else "tensorflow"
    with pytest.raises(ParamsError, match="Keras is already imported with"):
        select_backend(other)
