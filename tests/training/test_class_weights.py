"""class_weight: balanced on a skewed folder: the minority class is found more often (training/batches.py, probe.py)."""

import dataclasses

import numpy as np
import pytest
from PIL import Image

from fakes import train
from imgclf.data.sources import fetch
from imgclf.data.split import split_dataset
from imgclf.evaluation.inference import predict
from imgclf.features.featurize import featurize
from imgclf.io import write_json
from imgclf.params import DataParams, FeaturesParams, ModelsParams, Params
from imgclf.runtime import keras_state


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    """10:1 in train (bright-ish cats, darker dogs, overlapping), 1:1 in test; split and featurized."""
    root = tmp_path_factory.mktemp("skewed")
    rng = np.random.default_rng(0)
    for split, counts in (("train", {"cat": 200, "dog": 20}), ("test", {"cat": 40, "dog": 40})):
        for cls, count in counts.items():
            (root / "pics" / split / cls).mkdir(parents=True)
            for i in range(count):
                level = rng.normal(140 if cls == "cat" else 112, 20)
                pixels = np.clip(rng.normal(level, 12, (12, 12, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(root / "pics" / split / cls / f"{i:03d}.png")
    fetch(DataParams(dataset="folder", path=str(root / "pics"), image_size=16), 0, root / "raw")
    split_dataset(root / "raw", root / "split", val_fraction=0.1, limit=None, test_limit=None, seed=0)
    with keras_state(0):
        manifest, _ = featurize(root / "split", root / "features", FeaturesParams(image_size=32, batch_size=64), 0)
    manifest.save(root / "features")
    return root


def minority_recall(root, model: str, weighting: str, **recipe) -> float:
    section = dataclasses.replace(getattr(ModelsParams(), model), class_weight=weighting, **recipe)
    params = dataclasses.replace(Params(), model=model, models=dataclasses.replace(ModelsParams(), **{model: section}))
    out = root / f"{model}-{weighting}"
    with keras_state(0):
        write_json(out / "train.json", train(params, root / "split", root / "features", out).summary)
    labels, logits = predict(out, root / "split", root / "features")
    return float(np.mean(logits.argmax(1)[labels == 1] == 1))  # dog is class 1


@pytest.mark.parametrize(
    "model, recipe",
    [("linear_probe", {"C": [0.001]}), ("head", {"epochs": 15, "hidden_units": [32], "patience": 0})],
)
def test_balanced_weights_raise_the_minority_recall(skewed, model, recipe):
    plain = minority_recall(skewed, model, "none", **recipe)
    balanced = minority_recall(skewed, model, "balanced", **recipe)
    assert balanced > plain + 0.1, (plain, balanced)
