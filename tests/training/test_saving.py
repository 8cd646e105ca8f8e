"""Saved models are for inference (training/saving.py) and load anywhere (models/loading.py)."""

import json
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from imgclf.errors import DataError
from imgclf.models.loading import load_model
from imgclf.runtime import dtype_policy
from imgclf.training.optim import WarmupSchedule
from imgclf.training.saving import inference_view, save_model


def compile_configs(path) -> list:
    """Every non-empty compile configuration stored anywhere in a .keras file's config."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("compile_config"):
                found.append(node["compile_config"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    with zipfile.ZipFile(path) as archive:
        walk(json.loads(archive.read("config.json")))
    return found


def two_phase_model():
    """A head compiled and trained with the project's warmup schedule, then nested in a bigger model (finetune's
    shape): Keras saves a nested compiled model's optimizer, which then needs the schedule class to load."""
    inputs = keras.Input((4,))
    head = keras.Model(inputs, keras.layers.Dense(3, name="logits")(inputs), name="head")
    head.compile(optimizer=keras.optimizers.Adam(WarmupSchedule(1e-3, 2, 10)), loss="mse")
    head.fit(np.ones((8, 4)), np.ones((8, 3)), epochs=1, verbose=0)
    pixels = keras.Input((4,))
    return head, pixels


def test_a_nested_compiled_model_saves_without_its_optimizer_and_loads_in_a_fresh_process(tmp_path):
    head, pixels = two_phase_model()
    whole = keras.Model(pixels, inference_view(head)(keras.layers.Dense(4, name="features")(pixels)))
    whole.compile(optimizer="adam", loss="mse")  # the outer model is compiled for phase 2 as well
    save_model(whole, tmp_path / "model.keras")
    assert compile_configs(tmp_path / "model.keras") == []
    # A fresh process that never imported the training code: what evaluate, export and predict are.
    code = (
        "import sys, numpy as np; from imgclf.models.loading import load_model; "
        "m = load_model(sys.argv[1]); print(m.predict(np.ones((2, 4)), verbose=0).shape)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "model.keras")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.strip().splitlines()[-1] == "(2, 3)"


def test_the_nested_compiled_model_itself_would_carry_its_optimizer(tmp_path):
    """Why inference_view is needed: without it the optimizer (and its schedule) goes into the file."""
    head, pixels = two_phase_model()
    whole = keras.Model(pixels, head(keras.layers.Dense(4, name="features")(pixels)))
    save_model(whole, tmp_path / "model.keras")
    assert compile_configs(tmp_path / "model.keras")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a zip at all", r"not a Keras model file \(a \.keras file is a zip archive\)"),
        (None, r"cannot be loaded as a Keras model"),
    ],
)
def test_a_broken_model_file_is_one_line_naming_it(tmp_path, content, message):
    path = tmp_path / "model.keras"
    if content is None:  # a zip, but not of a model
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("config.json", "{}")
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match=rf"{path}: {message}"):
        load_model(path)
    with pytest.raises(DataError, match="no such model file"):
        load_model(tmp_path / "missing.keras")


def nested_conv_model() -> keras.Model:
    """A features model nested in a classifier with float32 logits: the shape of every image model here."""
    pixels = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(6, 3, name="conv")(pixels)
    x = keras.layers.BatchNormalization(name="bn")(x)
    features = keras.Model(pixels, keras.layers.GlobalMaxPooling2D(name="pool")(x), name="features")
    inputs = keras.Input((8, 8, 3))
    return keras.Model(inputs, keras.layers.Dense(3, dtype="float32", name="logits")(features(inputs)))


def all_layers(model: keras.Model) -> list:
    return [
        inner for layer in model.layers for inner in (all_layers(layer) if isinstance(layer, keras.Model) else [layer])
    ]


def test_a_mixed_precision_model_is_saved_to_compute_in_float32(tmp_path):
    """train.mixed_precision: mixed_bfloat16 trains in bfloat16, but the saved model computes in float32 with the
    same weights, so evaluate, export and predict give the same on CPUs with and without bfloat16 units."""
    keras.utils.set_random_seed(0)
    with dtype_policy("mixed_bfloat16"):
        mixed = nested_conv_model()
    assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in all_layers(mixed)}
    save_model(mixed, tmp_path / "model.keras")
    loaded = load_model(tmp_path / "model.keras")
    assert {layer.dtype_policy.name for layer in all_layers(loaded)} == {"float32"}
    twin = nested_conv_model()  # built in float32
    twin.set_weights(mixed.get_weights())
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(loaded(x), twin(x), rtol=1e-6, atol=1e-6)
    assert not np.allclose(mixed(x), twin(x), rtol=1e-6, atol=1e-6)  # bfloat16 computes otherwise


def test_a_float32_model_is_saved_as_it_is(tmp_path):
    model = nested_conv_model()
    save_model(model, tmp_path / "model.keras")
    x = np.ones((1, 8, 8, 3), "float32")
    np.testing.assert_array_equal(load_model(tmp_path / "model.keras")(x), model(x))
