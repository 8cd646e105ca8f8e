"""The train stage's library side, in-process: the registry's models trained on tiny data (training/trainers.py)."""

import dataclasses
import itertools

import keras
import numpy as np
import pytest

from fakes import train
from imgclf.data.arrays import write_classes, write_subset
from imgclf.evaluation.inference import predict
from imgclf.evaluation.reports import history_table
from imgclf.io import write_json
from imgclf.models.recipe import Augment
from imgclf.params import ModelsParams, Params
from imgclf.runtime import keras_state
from imgclf.training.fit import TrainingError
from imgclf.training.trained import Trained


def blobs(rng, n_per_class, classes=3, dim=16):
    centers = rng.normal(0, 4, (classes, dim))
    labels = np.repeat(np.arange(classes), n_per_class)
    return (centers[labels] + rng.normal(0, 1, (len(labels), dim))).astype(np.float16), labels


@pytest.fixture
def cache(tmp_path):
    """A split folder (tiny images, labels) and a matching embedding cache of separable blobs."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 60), ("val", 20), ("test", 20)):
        vectors, labels = blobs(np.random.default_rng(0), n)  # same centers for every split
        vectors = vectors + rng.normal(0, 0.5, vectors.shape).astype(np.float16)
        write_subset(tmp_path / "split", split, np.zeros((len(labels), 2, 2, 3), np.uint8), labels)
        (tmp_path / "features").mkdir(exist_ok=True)
        np.save(tmp_path / "features" / f"{split}.npy", vectors)
    write_classes(tmp_path / "split", ["a", "b", "c"])
    return tmp_path


def with_recipe(model: str, **changes) -> Params:
    recipe = dataclasses.replace(getattr(ModelsParams(), model), **changes)
    return dataclasses.replace(Params(), model=model, models=dataclasses.replace(ModelsParams(), **{model: recipe}))


def head_params(**changes) -> Params:
    return with_recipe("head", **{"hidden_units": [32], "epochs": 8, "batch_size": 32, **changes})


def run(cache, name, params):
    """As the train stage runs it: seeded, then train.json next to the model."""
    out = cache / name
    with keras_state(params.seed):
        trained = train(params, cache / "split", cache / "features", out)
    write_json(out / "train.json", trained.summary)
    return out, {**trained.summary, "timing": trained.timing}


def test_head_learns_keeps_its_best_epoch_and_logs_to_dvclive(cache):
    out, summary = run(cache, "train", head_params(patience=0))
    assert summary["best_val_accuracy"] > 0.9
    assert summary["epochs_run"] == 8 and 1 <= summary["best_epoch"] <= 8
    history = history_table(out / "live")
    assert list(history.columns) == ["epoch", "train_accuracy", "train_loss", "val_accuracy", "val_loss"]
    assert history["epoch"].tolist() == list(range(1, 9))
    assert history["val_accuracy"].max() == pytest.approx(summary["best_val_accuracy"])
    # the saved weights are the best epoch's: re-scoring val reproduces its accuracy
    labels, logits = predict(out, cache / "split", cache / "features", split="val")
    assert (logits.argmax(1) == labels).mean() == pytest.approx(summary["best_val_accuracy"], abs=1e-6)
    assert set(summary["timing"]) == {"seconds", "epoch_seconds", "images_per_second", "curve"}
    curve = summary["timing"]["curve"]  # accuracy against minutes: what metrics/progress.csv plots
    assert [c["epoch"] for c in curve] == list(range(1, len(curve) + 1))
    # a clock (to 3 decimals of a minute: a tiny head's epochs can share one), inside the run's own time
    assert all(a["minutes"] <= b["minutes"] for a, b in itertools.pairwise(curve))
    assert 0 < curve[-1]["minutes"] <= summary["timing"]["seconds"] / 60 + 0.001
    assert max(c["val_accuracy"] for c in curve) == pytest.approx(summary["best_val_accuracy"])
    line = Trained(summary, {}).outcome_line()
    assert line == f"best val accuracy {summary['best_val_accuracy']:.4f} at epoch {summary['best_epoch']} of 8"


def test_patience_stops_when_val_accuracy_stalls(cache):
    # With a learning rate this small nothing changes, so epoch 1 stays best.
    _, summary = run(cache, "stall", head_params(patience=2, learning_rate=1e-12))
    assert (summary["epochs_run"], summary["best_epoch"]) == (3, 1)


def test_same_seed_same_model_file(cache):
    first, a = run(cache, "a", head_params())
    second, b = run(cache, "b", head_params())
    assert (first / "model.keras").read_bytes() == (second / "model.keras").read_bytes()
    assert a["best_val_accuracy"] == b["best_val_accuracy"]


def test_linear_probe_picks_c_on_validation(cache):
    out, result = run(cache, "probe", with_recipe("linear_probe", C=[1e-4, 1.0]))
    assert result["best_C"] == 1.0 and result["best_val_accuracy"] > 0.9
    assert history_table(out / "live")["epoch"].tolist() == [1, 2]
    # The probe has no epochs: the train stage's line names the C it chose
    line = Trained(result, {}).outcome_line()
    assert line == f"best val accuracy {result['best_val_accuracy']:.4f} at C=1 (of 2 tried)"


def test_diverging_training_stops_with_an_error_naming_the_recipe(cache):
    huge = head_params(optimizer="sgd", learning_rate=1e12, momentum=0.9)
    with pytest.raises(TrainingError, match=r"diverged: .* lower models\.head\.learning_rate"):
        run(cache, "nan", huge)
    assert not (cache / "nan" / "model.keras").exists()


SMOKE = {"resnext": {"cardinality": 2, "bottleneck_width": 2}}


@pytest.mark.parametrize("name", list(SMOKE))
def test_an_image_model_trains_one_epoch_and_saves_a_model_of_pixels(cache, name):
    """The path every registered image model takes (the builders differ: tests/models/test_registry.py builds
    each); mobilenet_v1 also runs end to end in the dvc queue test."""
    rng = np.random.default_rng(1)
    for split, n in (("train", 24), ("val", 6)):
        write_subset(cache / "split", split, rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8), np.arange(n) % 3)
    params = with_recipe(name, epochs=1, batch_size=8, augment=Augment(translate=2), **SMOKE[name])
    _, summary = run(cache, name, params)
    assert summary["input"] == "images" and summary["epochs_run"] == 1 and summary["model"] == name
    model = keras.models.load_model(cache / name / "model.keras")
    assert model.predict(np.zeros((2, 16, 16, 3), np.uint8), verbose=0).shape == (2, 3)


@pytest.mark.parametrize(
    "bfloat16_units, gpus, warned", [(False, [], True), (True, [], False), (False, ["GPU"], False)]
)
def test_mixed_bfloat16_warns_only_where_the_cpu_emulates_it(monkeypatch, bfloat16_units, gpus, warned):
    from imgclf.training import job

    monkeypatch.setattr(job, "native_bfloat16", lambda: bfloat16_units)
    monkeypatch.setattr(job, "accelerators", lambda: gpus)
    message = job.precision_warning("mixed_bfloat16")
    assert (message is not None) == warned
    assert message is None or message.startswith("train.mixed_precision mixed_bfloat16: this CPU has no bfloat16")
    assert job.precision_warning("float32") is None
