"""The model registry: every module with a SPEC is a model; each builds a model of its declared input kind,
with one logit per class, at its SPEC.small size."""

import dataclasses
import re

import numpy as np
import pytest

from fakes import REPO
from imgclf.constraints import build_section
from imgclf.models.registry import MODELS
from imgclf.models.spec import INPUTS, BuildContext


def small_recipe(name: str):
    """The model's params section at its SPEC.small size, validated like params.yaml."""
    spec = MODELS[name]
    raw = dataclasses.asdict(spec.params())
    for key, value in spec.small.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) else value
    return build_section(spec.params, raw, f"models.{name}.", "SPEC.small")


def test_every_module_that_declares_a_spec_is_a_model_with_a_section_and_a_way_of_training():
    """Read from the files, not from the registry's own discovery: a model is a module of models/ with a SPEC,
    and adding one edits no test."""
    from imgclf.training.dispatch import TRAINERS

    declared = {
        p.stem for p in (REPO / "src" / "imgclf" / "models").glob("*.py") if re.search(r"^SPEC = ", p.read_text(), re.M)
    }
    assert declared and set(MODELS) == declared
    assert {p.stem for p in (REPO / "recipes").glob("*.yaml")} == declared  # each with its own params file
    for name, spec in MODELS.items():
        assert dataclasses.is_dataclass(spec.params) and spec.inputs in INPUTS, name
        assert (spec.build is None) != (spec.trainer is None), name  # built and fitted, or trained its own way
        assert spec.trainer is None or spec.trainer in TRAINERS, name
        small_recipe(name)  # its small size is a valid recipe


@pytest.mark.parametrize("name", [name for name, spec in MODELS.items() if spec.build is not None])
def test_each_builder_maps_its_inputs_to_one_logit_per_class(name):
    spec = MODELS[name]
    shape = (12,) if spec.inputs == "embeddings" else (16, 16, 3)
    inputs = np.random.default_rng(0).integers(0, 256, (2, *shape)).astype("float32")
    # What the trainer passes: the embeddings' statistics, or the training pictures (airbench whitens with them).
    stats = (
        {"embedding_mean": np.zeros(12), "embedding_variance": np.ones(12)}
        if spec.inputs == "embeddings"
        else {"train_images": inputs.astype("uint8")}
    )
    model = spec.build(small_recipe(name), BuildContext(shape, num_classes=5, seed=0, **stats))
    assert tuple(model.input_shape[1:]) == shape
    assert model.predict(inputs, verbose=0).shape == (2, 5)
