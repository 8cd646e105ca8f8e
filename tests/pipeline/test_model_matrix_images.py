"""The real-data model matrix, models of pictures (tests/matrix.py)."""

import pytest

from matrix import (
    IMAGE_MODELS,
    IMAGE_TRAIN_PRECISION,
    IMAGE_TTA,
    check_model,
    matrix_project,
    skip_without_data,
)

pytestmark = [pytest.mark.slow, skip_without_data]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return matrix_project(tmp_path_factory)


@pytest.mark.parametrize("model", IMAGE_MODELS)
def test_evaluate_export_and_predict_score_the_same_model(project, model):
    check_model(*project, model, "float32", IMAGE_TTA.get(model, "none"), IMAGE_TRAIN_PRECISION.get(model, "float32"))


THROWAWAY = '''"""A throwaway model, to show that adding one is this module and its recipes/throwaway.yaml."""

from dataclasses import dataclass

from imgclf.constraints import Number, param
from imgclf.models.recipe import ScratchOptimization
from imgclf.models.spec import ModelSpec


@dataclass(frozen=True)
class ThrowawayParams(ScratchOptimization):
    filters: int = param(8, Number(int, 1))


def build(recipe, context):
    import keras

    from imgclf.models.classifier import image_classifier

    size = context.input_shape[0]
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(recipe.filters, 3, padding="same", activation="relu")(inputs)
    features = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="throwaway")
    return image_classifier(features, size, context.num_classes, recipe.augment, 0.0, context.seed)


SPEC = ModelSpec(ThrowawayParams, "images", build=build, small={"epochs": 1, "batch_size": 32})
'''


def test_a_model_added_as_one_module_and_its_params_runs_through_train_evaluate_export_and_predict(
    project, monkeypatch
):
    """docs/models.md's promise: a module in models/ and its recipes/<name>.yaml (its own knobs), no other file
    edited."""
    import importlib.util

    import yaml

    from projects import run

    root, pictures = project
    module = root / "src" / "imgclf" / "models" / "throwaway.py"
    module.write_text(THROWAWAY)
    loaded = importlib.util.spec_from_file_location("throwaway", module)
    source = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(source)
    own = {"filters": source.ThrowawayParams().filters, "warmup_epochs": 1.0, **source.SPEC.small}
    (root / "recipes" / "throwaway.yaml").write_text(yaml.safe_dump(own, sort_keys=False))
    monkeypatch.setenv("PYTHONPATH", str(root / "src"))  # the stages run this copy of the package
    check_model(root, pictures, "throwaway", "float32")
    evaluated = yaml.safe_load((root / "metrics" / "eval.json").read_text())
    assert evaluated["run"]["model"] == "throwaway"
    edited = run(root, "git", "status", "--porcelain", "--", "src", "stages", "dvc.yaml", "tests").stdout.split("\n")
    assert [line for line in edited if line] == ["?? src/imgclf/models/throwaway.py"]
    assert "?? recipes/throwaway.yaml" in run(root, "git", "status", "--porcelain").stdout
