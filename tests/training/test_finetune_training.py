"""Fine-tuning's two phases, in-process (training/finetune.py)."""

import dataclasses

import pytest

from fakes import featurized
from imgclf.models.finetune import FinetuneParams
from imgclf.models.head import HeadParams
from imgclf.params import FeaturesParams, ModelsParams, Params
from imgclf.runtime import keras_state
from imgclf.training.trainers import train

FEATURES = FeaturesParams(backbone="resnet50", weights="none", alpha=1.0, image_size=32, batch_size=8)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return featurized(tmp_path_factory.mktemp("ft"), FEATURES, seed=3)


def test_train_finetune_runs_both_phases(cache, tmp_path):
    recipe = dataclasses.replace(
        FinetuneParams(),
        head=dataclasses.replace(HeadParams(), epochs=2, hidden_units=[8]),
        epochs=1,
        batch_size=8,
        fine_tune_at=165,
    )
    params = dataclasses.replace(Params(), model="finetune", features=FEATURES, models=ModelsParams(finetune=recipe))
    with keras_state(3):
        summary = train(params, cache / "split", cache / "features", tmp_path)
    assert summary["head_phase"]["epochs_run"] == 2 and summary["epochs_run"] == 1
    assert summary["input"] == "images" and (tmp_path / "model.keras").exists()
    assert (tmp_path / "live_head" / "metrics.json").exists() and (tmp_path / "live" / "metrics.json").exists()
