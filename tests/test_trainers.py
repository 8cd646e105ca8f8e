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
