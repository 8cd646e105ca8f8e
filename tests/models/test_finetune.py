"""Fine-tuning reuses the cached work, keeps BatchNormalization in inference mode, and trains in two phases."""

import dataclasses

import keras
import numpy as np
import pytest

from fakes import featurized, train
from imgclf.errors import ParamsError
from imgclf.evaluation.reports import train_record
from imgclf.features.manifest import FeatureManifest
from imgclf.io import load_array
from imgclf.models.finetune import FinetuneParams, finetune_backbone, finetune_model
from imgclf.models.head import HeadParams
from imgclf.models.recipe import Augment
from imgclf.params import FeaturesParams, ModelsParams, Params
from imgclf.runtime import keras_state
from imgclf.training.finetune import joined_curve

# A random-init ResNet50 keeps a signal at 32 px (its residual paths); random MobileNets decay to ~1e-17.
FEATURES = FeaturesParams(backbone="resnet50", weights="none", alpha=1.0, image_size=32, batch_size=8)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return featurized(tmp_path_factory.mktemp("ft"), FEATURES, seed=3)


def test_fine_tune_backbone_is_the_cached_one(cache):
    """Same seed, same manifest: the rebuilt backbone reproduces the cached embeddings."""
    manifest = FeatureManifest.load(cache / "features")
    keras.utils.set_random_seed(99)  # whatever was drawn before: the backbone is a function of its seed
    backbone = finetune_backbone(manifest, fine_tune_at=160)
    identity = keras.Sequential([keras.Input((manifest.embedding_dim,))])
    model = finetune_model(manifest, backbone, identity, 24, Augment(flip=False, translate=0), seed=0)
    images = load_array(cache / "split" / "val_images.npy")
    cached = load_array(cache / "features" / "val.npy").astype("float32")
    assert cached.std() > 1e-3  # a real signal, not vanished activations
    np.testing.assert_allclose(model.predict(images, verbose=0), cached, rtol=1e-2, atol=1e-4)


def test_fine_tuning_leaves_batchnorm_statistics_alone_and_trains_from_fine_tune_at(cache, tmp_path):
    manifest = FeatureManifest.load(cache / "features")
    backbone = finetune_backbone(manifest, fine_tune_at=160)
    head = keras.Sequential([keras.Input((manifest.embedding_dim,)), keras.layers.Dense(2)])
    model = finetune_model(manifest, backbone, head, 24, Augment(), seed=0)
    bns = [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]
    stats = [[keras.ops.convert_to_numpy(v) for v in (bn.moving_mean, bn.moving_variance)] for bn in bns]
    frozen = [layer for layer in backbone.layers[:160] if layer.weights]
    tuned = [layer for layer in backbone.layers[160:] if layer.trainable_weights]
    before_frozen = [w.copy() for layer in frozen for w in layer.get_weights()]
    before_tuned = [w.copy() for layer in tuned for w in layer.get_weights()]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    x = load_array(cache / "split" / "train_images.npy")
    y = np.eye(2, dtype="float32")[load_array(cache / "split" / "train_labels.npy")]
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for bn, (mean, var) in zip(bns, stats):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(bn.moving_mean), mean)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(bn.moving_variance), var)
        assert not bn.trainable
    for a, b in zip(before_frozen, [w for layer in frozen for w in layer.get_weights()]):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b) for a, b in zip(before_tuned, [w for layer in tuned for w in layer.get_weights()])
    )


def test_adapted_batchnorm_trains_its_scales_and_statistics_and_predicts_on_them(cache):
    manifest = FeatureManifest.load(cache / "features")
    backbone = finetune_backbone(manifest, fine_tune_at=160, batchnorm="adapted")
    head = keras.Sequential([keras.Input((manifest.embedding_dim,)), keras.layers.Dense(2)])
    model = finetune_model(manifest, backbone, head, 24, Augment(), seed=0, batchnorm="adapted")
    bns = [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]
    before = [[w.copy() for w in bn.get_weights()] for bn in bns]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    x = load_array(cache / "split" / "train_images.npy")
    y = np.eye(2, dtype="float32")[load_array(cache / "split" / "train_labels.npy")]
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    index = {id(layer): i for i, layer in enumerate(backbone.layers)}
    for bn, weights in zip(bns, before):
        changed = [not np.array_equal(a, b) for a, b in zip(weights, bn.get_weights())]
        if index[id(bn)] < 160:  # before fine_tune_at: untouched, as the convolutions there
            assert not any(changed) and not bn.trainable
        else:  # gamma, beta, moving mean, moving variance
            assert all(changed), bn.name
    # inference uses the moving statistics: two calls agree, and agree with batch-of-one calls
    whole = model.predict(x[:4], verbose=0)
    np.testing.assert_allclose(whole, model.predict(x[:4], batch_size=1, verbose=0), rtol=1e-4, atol=1e-5)


def test_fine_tune_at_beyond_the_backbone_names_the_param(cache):
    manifest = FeatureManifest.load(cache / "features")
    with pytest.raises(
        ParamsError, match=r"models\.finetune\.fine_tune_at must be below the 176 layers of resnet50; got 999"
    ):
        finetune_backbone(manifest, fine_tune_at=999)


def test_train_finetune_runs_both_phases(cache, tmp_path, capsys):
    recipe = dataclasses.replace(
        FinetuneParams(),
        head=dataclasses.replace(HeadParams(), epochs=2, hidden_units=[8]),
        epochs=1,
        batch_size=8,
        fine_tune_at=165,
    )
    params = dataclasses.replace(Params(), model="finetune", features=FEATURES, models=ModelsParams(finetune=recipe))
    with keras_state(3):
        trained = train(params, cache / "split", cache / "features", tmp_path)
    summary = trained.summary
    assert summary["head_phase"]["epochs_run"] == 2 and summary["epochs_run"] == 1
    said = capsys.readouterr().out  # the log names the phase before each one's "Epoch 1/N" lines
    assert "finetune, phase 1 of 2: the head on the cached embeddings, 2 epochs at most" in said
    assert "finetune, phase 2 of 2: resnet50 from layer 165 on and the head, on the pictures, 1 epochs" in said
    assert summary["input"] == "images" and (tmp_path / "model.keras").exists()
    assert (tmp_path / "live_head" / "metrics.json").exists() and (tmp_path / "live" / "metrics.json").exists()
    assert set(trained.timing) >= {"seconds", "images_per_second", "head_phase"}  # the timing has one owner
    # what the run cost (the leaderboard's train minutes): both phases, and the curve's clock ends inside it
    timing = trained.timing
    assert timing["head_phase"]["seconds"] > 0 and timing["fine_tune_seconds"] >= sum(timing["epoch_seconds"])
    assert timing["seconds"] == pytest.approx(timing["head_phase"]["seconds"] + timing["fine_tune_seconds"], abs=0.002)
    assert timing["head_phase"]["seconds"] / 60 < timing["curve"][-1]["minutes"] <= timing["seconds"] / 60 + 0.001
    # what evaluate copies into eval.json: the leaderboard groups an auto run by what auto became
    assert train_record(summary)["recipe_used"]["fine_tune_at"] == 165


@pytest.mark.parametrize(
    "backbone, expected",
    [
        (
            "mobilenet",
            {
                "fine_tune_at": 0,
                "optimizer": "adam",
                "learning_rate": 1e-3,
                "epochs": 12,
                "label_smoothing": 0.1,
                "batchnorm": "adapted",
            },
        ),
        (
            "resnet50",
            {
                "fine_tune_at": 143,
                "optimizer": "adam",
                "learning_rate": 1e-5,
                "epochs": 3,
                "label_smoothing": 0.0,
                "batchnorm": "frozen",
            },
        ),
        ("vgg16", {"fine_tune_at": 13, "optimizer": "adam", "learning_rate": 1e-4, "epochs": 10}),  # an estimate
    ],
)
def test_auto_takes_the_recipe_of_the_backbone_family_and_keeps_what_is_set(backbone, expected):
    recipe = FinetuneParams().resolved(backbone)
    assert {k: getattr(recipe, k) for k in expected} == expected
    mine = dataclasses.replace(FinetuneParams(), learning_rate=3e-4, epochs=7).resolved(backbone)
    assert (mine.learning_rate, mine.epochs) == (3e-4, 7)


def test_the_two_phases_share_one_clock_in_the_accuracy_against_minutes_curve():
    head = [{"epoch": 1, "minutes": 0.1, "val_accuracy": 0.7}, {"epoch": 2, "minutes": 0.2, "val_accuracy": 0.75}]
    main = [{"epoch": 1, "minutes": 2.0, "val_accuracy": 0.8}]
    curve = joined_curve(head, main)
    assert [(c["phase"], c["minutes"]) for c in curve] == [("head", 0.1), ("head", 0.2), ("fine-tune", 2.2)]
    assert joined_curve([], main)[0]["minutes"] == 2.0
