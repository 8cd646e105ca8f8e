"""The test split as evaluate scores it (evaluation/scoring.py): the softmax of the views' weighted logits, held to
explicit predictions of each view made here with numpy (``numpy_view``, an implementation of its own)."""

import json

import keras
import numpy as np
import pytest

from imgclf.data.arrays import write_classes, write_subset
from imgclf.errors import DataError
from imgclf.evaluation.metrics import softmax
from imgclf.evaluation.scoring import scored_probabilities
from imgclf.evaluation.tta import views


def numpy_view(pictures: np.ndarray, view) -> np.ndarray:
    """``view`` of pictures (N, H, W, C) with numpy: mirrored, then moved down-right by ``shift`` (up-left when
    negative), the borders reflected as np.pad's reflect does."""
    x = pictures[:, :, ::-1] if view.mirror else pictures
    if view.shift:
        pad, (height, width) = abs(view.shift), x.shape[1:3]
        padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
        start = pad - view.shift
        x = padded[:, start : start + height, start : start + width]
    return np.ascontiguousarray(x)


def logits(model, x) -> np.ndarray:
    return model.predict(np.asarray(x).astype("float32"), verbose=0).astype(np.float64)


def saved(model, folder, kind):
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    (folder / "train.json").write_text(json.dumps({"input": kind}))
    return folder


@pytest.fixture
def split(tmp_path):
    rng = np.random.default_rng(0)
    write_subset(tmp_path / "split", "test", rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8), np.arange(6) % 3)
    write_classes(tmp_path / "split", ["a", "b", "c"])
    return tmp_path / "split"


def test_flip_tta_on_pictures_is_the_mean_of_two_explicit_predictions(tmp_path, split):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(  # not mirror-symmetric
        [keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    train = saved(model, tmp_path / "train", "images")
    images = np.load(split / "test_images.npy")
    plain, mirrored = (logits(model, x) for x in (images, images[:, :, ::-1]))
    _, probs = scored_probabilities(train, split, tmp_path, "flip")
    np.testing.assert_allclose(probs, softmax((plain + mirrored) / 2), atol=1e-6)  # airbench's: logits averaged
    _, without = scored_probabilities(train, split, tmp_path, "none")
    np.testing.assert_allclose(without, softmax(plain), atol=1e-6)
    assert not np.allclose(probs, softmax(plain))


def test_flip_tta_on_embeddings_uses_the_cached_mirrored_test_embeddings(tmp_path, split):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    train = saved(model, tmp_path / "train", "embeddings")
    rng = np.random.default_rng(1)
    features = tmp_path / "features"
    features.mkdir()
    plain, mirror = (rng.normal(size=(6, 4)).astype(np.float16) for _ in range(2))
    np.save(features / "test.npy", plain)
    with pytest.raises(DataError, match=r"test_flip\.npy: no mirrored test embeddings .* rerun featurize"):
        scored_probabilities(train, split, features, "flip")
    np.save(features / "test_flip.npy", mirror)
    _, probs = scored_probabilities(train, split, features, "flip")
    np.testing.assert_allclose(probs, softmax(sum(logits(model, x) for x in (plain, mirror)) / 2), atol=1e-6)


def test_flip_translate_on_pictures_weighs_six_views_and_embeddings_refuse_it(tmp_path, split):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(  # neither mirror- nor shift-invariant
        [keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    train = saved(model, tmp_path / "train", "images")
    images = np.load(split / "test_images.npy")
    each = [(v.weight, logits(model, numpy_view(images, v))) for v in views("flip_translate")]
    _, probs = scored_probabilities(train, split, tmp_path, "flip_translate")
    np.testing.assert_allclose(probs, softmax(sum(w * z for w, z in each)), atol=1e-6)
    _, flipped = scored_probabilities(train, split, tmp_path, "flip")
    assert not np.allclose(probs, flipped, atol=1e-4)  # the shifted views count
    embeddings = saved(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]), tmp_path / "e", "embeddings")
    (tmp_path / "features").mkdir()
    np.save(tmp_path / "features" / "test.npy", np.zeros((6, 4), np.float16))
    with pytest.raises(DataError, match=r"evaluate\.tta: flip_translate needs a model of pictures"):
        scored_probabilities(embeddings, split, tmp_path / "features", "flip_translate")
