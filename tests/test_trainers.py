import dataclasses

import numpy as np
import pytest

from imgclf.arrays import write_classes, write_subset
from imgclf.heads import build_head, embedding_stats
from imgclf.inference import predict
from imgclf.io import write_json
from imgclf.params import HeadParams, ModelsParams, Params
from imgclf.reports import history_table
from imgclf.trainers import train_head


def test_head_parameter_count():
    model = build_head(64, 10, [32, 16], 0.2, np.zeros(64), np.ones(64), seed=0)
    # The standardization is fixed from the cache (constants, not weights).
    assert model.count_params() == 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10


def test_embedding_stats_stream_over_chunks():
    x = np.random.default_rng(0).normal(3.0, 2.0, (1000, 5)).astype(np.float16)
    mean, var = embedding_stats(x, chunk=64)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(0), rtol=1e-9)
    np.testing.assert_allclose(var, x.astype(np.float64).var(0), rtol=1e-9)
    _, constant = embedding_stats(np.ones((10, 2), np.float16))
    assert constant.tolist() == [1.0, 1.0]  # a constant feature is not divided by zero


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
        np.save(tmp_path / "split" / f"{split}_labels.npy", labels)
        (tmp_path / "features").mkdir(exist_ok=True)
        np.save(tmp_path / "features" / f"{split}.npy", vectors)
    write_classes(tmp_path / "split", ["a", "b", "c"])
    return tmp_path


def head_params(**changes) -> Params:
    head = dataclasses.replace(HeadParams(), hidden_units=[32], epochs=8, batch_size=32, **changes)
    return dataclasses.replace(Params(), models=ModelsParams(head=head))


def run(cache, name, params):
    out = cache / name
    summary = train_head(params, cache / "split", cache / "features", out)
    write_json(out / "train.json", summary)
    return out, summary


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


def test_patience_stops_when_val_accuracy_stalls(cache):
    # With a learning rate this small nothing changes, so epoch 1 stays best.
    _, summary = run(cache, "stall", head_params(patience=2, learning_rate=1e-12))
    assert (summary["epochs_run"], summary["best_epoch"]) == (3, 1)


def test_same_seed_same_model(cache):
    _, first = run(cache, "a", head_params())
    _, second = run(cache, "b", head_params())
    la, a = predict(cache / "a", cache / "split", cache / "features")
    lb, b = predict(cache / "b", cache / "split", cache / "features")
    np.testing.assert_array_equal(a, b)
    assert first["best_val_accuracy"] == second["best_val_accuracy"]


def test_linear_probe_keras_model_reproduces_scikit_learn_logits():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from imgclf.trainers import logistic_regression_as_keras

    rng = np.random.default_rng(0)
    x, y = blobs(rng, 30, classes=4, dim=6)
    x = x.astype(np.float64) * 3 + 5
    scaler = StandardScaler().fit(x)
    clf = LogisticRegression(C=0.5, max_iter=500).fit(scaler.transform(x), y)
    model = logistic_regression_as_keras(scaler.mean_, scaler.scale_, clf.coef_, clf.intercept_)
    np.testing.assert_allclose(
        model.predict(x.astype(np.float32), verbose=0), clf.decision_function(scaler.transform(x)), rtol=1e-4, atol=1e-4
    )


def test_linear_probe_picks_c_on_validation(cache):
    from imgclf.params import LinearProbeParams
    from imgclf.trainers import train_linear_probe

    params = dataclasses.replace(Params(), models=ModelsParams(linear_probe=LinearProbeParams(C=[1e-4, 1.0])))
    out = cache / "probe"
    result = train_linear_probe(params, cache / "split", cache / "features", out)
    assert result["best_C"] == 1.0 and result["best_val_accuracy"] > 0.9
    assert history_table(out / "live")["epoch"].tolist() == [1, 2]


def test_diverging_training_stops_with_an_error_naming_the_recipe(cache):
    from imgclf.training import TrainingError

    huge = head_params(optimizer="sgd", learning_rate=1e12, momentum=0.9)
    with pytest.raises(TrainingError, match=r"diverged: .* lower models\.head\.learning_rate"):
        run(cache, "nan", huge)
    assert not (cache / "nan" / "model.keras").exists()


SMOKE = {
    "mobilenet_v1": {"alpha": 0.25, "shallow": True},
    "mobilenet_v2": {"alpha": 0.35},
    "resnext": {"cardinality": 2, "bottleneck_width": 2},
}


@pytest.mark.parametrize("name", list(SMOKE))
def test_every_image_model_trains_one_epoch_and_saves_a_model_of_pixels(cache, name):
    """The same path the train stage takes, in-process; the dvc queue test runs a subset end to end."""
    import keras

    from imgclf.params import Augment
    from imgclf.trainers import train

    rng = np.random.default_rng(1)
    for split, n in (("train", 24), ("val", 6)):
        write_subset(cache / "split", split, rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8), np.arange(n) % 3)
    recipe = dataclasses.replace(
        getattr(ModelsParams(), name), epochs=1, batch_size=8, augment=Augment(translate=2), **SMOKE[name]
    )
    params = dataclasses.replace(Params(), model=name, models=dataclasses.replace(ModelsParams(), **{name: recipe}))
    summary = train(params, cache / "split", cache / "features", cache / name)
    assert summary["input"] == "images" and summary["epochs_run"] == 1 and summary["model"] == name
    model = keras.models.load_model(cache / name / "model.keras")
    assert model.predict(np.zeros((2, 16, 16, 3), np.uint8), verbose=0).shape == (2, 3)
