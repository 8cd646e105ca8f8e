"""An interrupted fit resumed from its epoch checkpoint ends exactly where an uninterrupted one does."""

import dataclasses

import keras
import numpy as np
import pytest

from imgclf.evaluation.reports import history_table
from imgclf.models.classifier import image_classifier
from imgclf.models.recipe import Augment
from imgclf.models.resnext import ResNeXtParams, build_resnext
from imgclf.training.batches import Batches
from imgclf.training.fit import fit_classifier
from imgclf.training.resume import Checkpoint, run_fingerprint, run_key

RECIPE = dataclasses.replace(
    ResNeXtParams(),
    epochs=4,
    batch_size=16,
    warmup_epochs=1.0,
    learning_rate=0.05,
    patience=0,
    augment=Augment(flip=True, translate=2, mixup_alpha=0.2),
)


class Crash(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt


def data():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (48, 16, 16, 3), dtype=np.uint8), np.arange(48) % 3


def fit(tmp, name, recipe=RECIPE, crash_at=None):
    keras.utils.set_random_seed(0)
    features = build_resnext(16, depth=11, cardinality=2, bottleneck_width=2, widen_factor=1)
    model = image_classifier(features, 16, 3, recipe.augment, dropout=0.2, seed=0)
    images, labels = data()
    train = Batches(images, labels, 3, recipe.batch_size, seed=0, mixup=recipe.augment.mixup_alpha)
    val = Batches(images[:24], labels[:24], 3, recipe.batch_size)
    extra = (Crash(crash_at),) if crash_at is not None else ()
    result = fit_classifier(
        model, recipe, False, train, val, tmp / name / "live", "models.resnext", tmp / name / "ckpt", extra
    )
    return model, result


def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    straight, expected = fit(tmp_path, "straight")
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path, "resumed", crash_at=2)
    assert Checkpoint(tmp_path / "resumed" / "ckpt").state["epoch"] == 2
    resumed, result = fit(tmp_path, "resumed")
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert (result.epochs_run, result.best_epoch, result.best_val_accuracy) == (
        expected.epochs_run,
        expected.best_epoch,
        expected.best_val_accuracy,
    )
    a = history_table(tmp_path / "straight" / "live")
    b = history_table(tmp_path / "resumed" / "live")
    assert b["epoch"].tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(a.drop(columns="epoch").values, b.drop(columns="epoch").values, rtol=1e-6)


def test_finished_checkpoint_is_reused_without_training(tmp_path):
    _, first = fit(tmp_path, "done")
    assert Checkpoint(tmp_path / "done" / "ckpt").state["finished"]
    _, again = fit(tmp_path, "done")
    assert again == first


def test_run_key_changes_with_params_and_data(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.npy").write_bytes(b"1")

    def key(config):
        return run_key(run_fingerprint(config, tmp_path / "d"))

    first = key({"models": {"head": {"epochs": 3}}})
    assert first == key({"models": {"head": {"epochs": 3}}})
    assert first != key({"models": {"head": {"epochs": 4}}})
    assert "models.head.epochs" in run_fingerprint({"models": {"head": {"epochs": 3}}})
    (tmp_path / "d" / "x.npy").write_bytes(b"2")
    assert first != key({"models": {"head": {"epochs": 3}}})


@pytest.mark.parametrize("killed_in", ["save_arrays", "write_text"])  # writing epoch 2, or just before pointing at it
def test_a_kill_during_a_checkpoint_save_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch, killed_in):
    import imgclf.training.resume as resume

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.optimizer.build(model.trainable_variables)
    best = keras.callbacks.EarlyStopping()
    (tmp_path / "live").mkdir()
    checkpoint = Checkpoint(tmp_path / "ckpt")
    checkpoint.save(model, best, tmp_path / "live", {"epoch": 1})
    real = getattr(resume, killed_in)

    def killed(path, *args):
        if killed_in == "write_text" or "epoch-0002" in str(path):
            raise KeyboardInterrupt  # the process dies here
        real(path, *args)

    monkeypatch.setattr(resume, killed_in, killed)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(model, best, tmp_path / "live", {"epoch": 2})
    again = Checkpoint(tmp_path / "ckpt")
    assert again.state == {"epoch": 1}
    again.restore(model)  # every file it names is there
