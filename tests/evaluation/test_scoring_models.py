"""The one model evaluate scores and export writes, from uint8 pictures to probabilities, whatever was trained
(evaluation/scoring.py); and, for a model of embeddings, evaluate's cached path giving what it gives."""

import dataclasses

import keras
import numpy as np
import pytest

from fakes import featurized, train, with_batch_statistics
from imgclf.evaluation.inference import predict
from imgclf.evaluation.scoring import logits_of_pictures, scored_probabilities, scoring_model
from imgclf.evaluation.tta import views
from imgclf.io import load_array, write_json
from imgclf.models.recipe import Augment
from imgclf.params import FeaturesParams, ModelsParams, Params
from imgclf.runtime import keras_state

FEATURES = FeaturesParams(backbone="resnet50", weights="none", image_size=32, batch_size=8)
SEED = 3


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return featurized(tmp_path_factory.mktemp("e2e"), FEATURES, seed=SEED)


def all_layer_names(model) -> set[str]:
    names = set()
    for layer in model.layers:
        names |= {layer.name} | (all_layer_names(layer) if hasattr(layer, "layers") else set())
    return names


def trained(cache, name: str, **recipe) -> Params:
    section = dataclasses.replace(getattr(ModelsParams(), name), **recipe)
    params = dataclasses.replace(
        Params(), seed=SEED, model=name, models=dataclasses.replace(ModelsParams(), **{name: section})
    )
    with keras_state(SEED):
        summary = train(params, cache / "split", cache / "features", cache / name).summary
    write_json(cache / name / "train.json", summary)
    return params


def test_the_rebuilt_featurizer_reproduces_the_cached_embeddings(cache):
    from imgclf.evaluation.scoring import featurizer_from
    from imgclf.features.manifest import FeatureManifest

    with keras_state(SEED):
        featurizer = featurizer_from(FeatureManifest.load(cache / "features"), 24)
    images = load_array(cache / "split" / "val_images.npy")
    cached = load_array(cache / "features" / "val.npy").astype("float32")
    assert cached.std() > 1e-3  # a real signal
    np.testing.assert_allclose(featurizer.predict(images, verbose=0), cached, rtol=1e-2, atol=1e-3)


@pytest.mark.parametrize(
    "name, recipe", [("linear_probe", {"C": [1.0]}), ("head", {"epochs": 2, "hidden_units": [16]})]
)
def test_an_embedding_model_gets_the_featurize_backbone_in_front_and_matches_the_cache(cache, name, recipe):
    trained(cache, name, **recipe)
    with keras_state(SEED):  # the featurize stage's seed: the same random-init backbone
        model = scoring_model(cache / name, cache / "features", 24)
    images = load_array(cache / "split" / "test_images.npy")
    probs = model.predict(images, verbose=0)
    _, logits = predict(cache / name, cache / "split", cache / "features")  # the evaluate stage's way
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    assert model.input.dtype == "uint8" and probs.shape == (8, 2)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probs, expected, atol=1e-5)  # the cache holds the vectors as computed
    assert (probs.argmax(1) == expected.argmax(1)).all()


def test_an_image_model_loses_its_augmentation_and_keeps_its_weights(cache):
    trained(cache, "mobilenet_v1", epochs=1, batch_size=8, alpha=0.25, shallow=True, augment=Augment(rotate=10.0))
    model = scoring_model(cache / "mobilenet_v1", cache / "features", 24)
    assert "augment" not in all_layer_names(model)
    images = load_array(cache / "split" / "test_images.npy")
    _, logits = predict(cache / "mobilenet_v1", cache / "split", cache / "features")
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    np.testing.assert_allclose(model.predict(images, verbose=0), expected, atol=1e-6)


@pytest.mark.parametrize("name, tta", [("head", "flip"), ("mobilenet_v1", "flip_translate")])
def test_with_tta_the_model_gives_what_evaluate_scores_and_reloads(cache, name, tta, tmp_path):
    """evaluate.tta is inside the exported model, so predict gives the probabilities eval.json scored."""
    from scipy.special import softmax
    from test_scoring import numpy_view

    from imgclf.models.loading import load_model

    small = {"epochs": 1, "batch_size": 8, "alpha": 0.25, "shallow": True}
    trained(cache, name, **({"epochs": 2, "hidden_units": [16]} if name == "head" else small))
    if name == "mobilenet_v1":  # one epoch leaves it answering every picture alike
        saved = load_model(cache / name / "model.keras")
        with_batch_statistics(saved, load_array(cache / "split" / "train_images.npy")).save(
            cache / name / "model.keras"
        )
    with keras_state(SEED):
        model = scoring_model(cache / name, cache / "features", 24, tta)
        plain = logits_of_pictures(cache / name, cache / "features", 24)  # the network without views
    images = load_array(cache / "split" / "test_images.npy")
    probs = model.predict(images, verbose=0)
    # evaluate's figures: for the head, its cached path (the embeddings of the pictures and their mirrors)
    _, evaluated = scored_probabilities(cache / name, cache / "split", cache / "features", tta)
    np.testing.assert_allclose(probs, evaluated, atol=1e-5)
    each_view = [(v.weight, plain.predict(numpy_view(images, v), verbose=0)) for v in views(tta)]
    np.testing.assert_allclose(probs, softmax(sum(w * z for w, z in each_view), axis=1), atol=1e-5)
    assert all(np.abs(z - each_view[0][1]).max() > 1e-3 for _, z in each_view[1:])  # every view counts
    model.save(tmp_path / "tta.keras")
    np.testing.assert_allclose(load_model(tmp_path / "tta.keras").predict(images, verbose=0), probs, atol=1e-6)
