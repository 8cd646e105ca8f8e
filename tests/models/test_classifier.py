"""Every from-scratch network wrapped to take raw pixels, augmentation off at inference (models/classifier.py)."""

import numpy as np
import pytest

from imgclf.models.classifier import image_classifier
from imgclf.models.mobilenet_v1 import build_mobilenet_v1
from imgclf.models.mobilenet_v2 import build_mobilenet_v2
from imgclf.models.recipe import Augment
from imgclf.models.resnext import build_resnext


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2", "resnext"])
def test_every_from_scratch_model_maps_32x32_pixels_to_logits(name):
    features = {
        "mobilenet_v1": lambda: build_mobilenet_v1(32, alpha=0.25, shallow=True),
        "mobilenet_v2": lambda: build_mobilenet_v2(32, alpha=0.35),
        "resnext": lambda: build_resnext(32, depth=11, cardinality=2, bottleneck_width=4, widen_factor=1),
    }[name]()
    model = image_classifier(features, 32, 7, Augment(randaugment_ops=1), dropout=0.1, seed=0)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3)).astype("float32")
    assert model(pixels, training=True).shape == (2, 7)
    # augmentation is off at inference: the same input gives the same logits
    np.testing.assert_array_equal(model.predict(pixels, verbose=0), model.predict(pixels, verbose=0))
