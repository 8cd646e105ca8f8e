"""The model registry: every entry's builder makes a model of its declared input kind, with one logit per class."""

import dataclasses

import numpy as np
import pytest

from imgclf.models.registry import INPUTS, MODELS, BuildContext

SMALL = {  # CPU-sized variants of each registered network, so every builder is exercised
    "head": {"hidden_units": [8]},
    "mobilenet_v1": {"alpha": 0.25, "shallow": True},
    "mobilenet_v2": {"alpha": 0.35},
    "resnext": {"cardinality": 2, "bottleneck_width": 2},
}


def test_every_entry_declares_its_section_its_input_and_how_it_is_trained():
    for name, spec in MODELS.items():
        assert dataclasses.is_dataclass(spec.params) and spec.inputs in INPUTS, name
        assert (spec.build is None) == (spec.trainer != "keras"), name  # built and fitted, or trained its own way
    assert set(SMALL) == {name for name, spec in MODELS.items() if spec.build is not None}


@pytest.mark.parametrize("name", list(SMALL))
def test_each_builder_maps_its_inputs_to_one_logit_per_class(name):
    spec = MODELS[name]
    recipe = dataclasses.replace(spec.params(), **SMALL[name])
    shape = (12,) if spec.inputs == "embeddings" else (16, 16, 3)
    stats = {"embedding_mean": np.zeros(12), "embedding_variance": np.ones(12)} if spec.inputs == "embeddings" else {}
    model = spec.build(recipe, BuildContext(shape, num_classes=5, seed=0, **stats))
    inputs = np.random.default_rng(0).integers(0, 256, (2, *shape)).astype("float32")
    assert tuple(model.input_shape[1:]) == shape
    assert model.predict(inputs, verbose=0).shape == (2, 5)
