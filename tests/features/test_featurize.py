"""The embedding cache: the featurizer, batching, the manifest, precision, real ImageNet weights."""

import dataclasses
import hashlib

import keras
import numpy as np
import pytest

from fakes import SHARED
from imgclf.data.arrays import write_classes, write_subset
from imgclf.features import featurize as featurize_module
from imgclf.features.featurize import build_featurizer, embed, featurize
from imgclf.features.precision import TOLERANCE, Measurement, decide
from imgclf.features.preprocessing import ImageNetPreprocess
from imgclf.io import load_array
from imgclf.params import FeaturesParams
from imgclf.runtime import keras_state

MOBILENET_025 = SHARED / "weights" / "mobilenet_1_0_224_tf_no_top_alpha025.h5"
MOBILENET_025_SHA256 = "dbdb03ee2a22fd895301636cd328b234bb3a9952358f436d82f46b81e0d5b0bf"


def features(**changes) -> FeaturesParams:
    return dataclasses.replace(FeaturesParams(), **changes)


def run(split_dir, out, params):
    """featurize as the stage runs it: seeded."""
    with keras_state(0):
        return featurize(split_dir, out, params, seed=0)


def test_featurizer_resizes_inside_the_model_and_matches_the_manual_pipeline():
    params = features(backbone="mobilenet", alpha=0.25, image_size=48)
    keras.utils.set_random_seed(0)
    model = build_featurizer(params, (16, 16, 3), None, seed=0)
    pixels = np.random.default_rng(1).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    got = model.predict(pixels, verbose=0)
    backbone = model.get_layer("mobilenet_0.25_48")
    resized = keras.layers.Resizing(48, 48)(pixels.astype("float32"))
    manual = backbone(keras.applications.mobilenet.preprocess_input(resized), training=False)
    assert got.shape == (3, 256)
    np.testing.assert_allclose(got, keras.ops.convert_to_numpy(manual), rtol=1e-4, atol=1e-5)


def test_embed_pads_the_last_batch_and_matches_one_big_predict():
    model = keras.Sequential([keras.Input((4, 4, 3), dtype="uint8"), ImageNetPreprocess("tf"), keras.layers.Flatten()])
    images = np.random.default_rng(0).integers(0, 256, (7, 4, 4, 3), dtype=np.uint8)
    out = np.zeros((7, 48), np.float16)
    embed(model, images, out, batch_size=3, desc="t")
    np.testing.assert_array_equal(out, model.predict(images, verbose=0).astype(np.float16))


@pytest.fixture
def split_dir(tmp_path):
    rng = np.random.default_rng(0)
    for name, n in (("train", 10), ("val", 4), ("test", 6)):
        write_subset(tmp_path / "split", name, rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n) % 2)
    write_classes(tmp_path / "split", ["a", "b"])
    return tmp_path / "split"


def test_featurize_writes_float32_embeddings_and_a_manifest_that_is_a_function_of_its_inputs(split_dir, tmp_path):
    params = features(backbone="mobilenet", alpha=0.25, batch_size=4)
    manifest, timing = run(split_dir, tmp_path / "features", params)
    for name, n in (("train", 10), ("val", 4), ("test", 6)):
        vectors = load_array(tmp_path / "features" / f"{name}.npy")
        assert vectors.shape == (n, 256) and vectors.dtype == np.float32
    assert manifest.count == {"train": 10, "val": 4, "test": 6}
    assert manifest.preprocessing == "tf" and manifest.weights_sha256 is None
    assert timing["images"] == 26 and timing["images_per_second"] > 0  # the mirrored test set included
    again, _ = run(split_dir, tmp_path / "again", params)
    assert again == manifest  # timings are kept apart, so a rerun leaves the DVC output's hash alone
    assert (tmp_path / "features" / "test.npy").read_bytes() == (tmp_path / "again" / "test.npy").read_bytes()


@pytest.mark.skipif(not MOBILENET_025.exists(), reason=f"ImageNet MobileNet weights not found at {MOBILENET_025}")
def test_imagenet_weights_download_from_a_mirror_and_match_the_local_file(
    http_server, monkeypatch, split_dir, tmp_path
):
    data = MOBILENET_025.read_bytes()
    assert hashlib.sha256(data).hexdigest() == MOBILENET_025_SHA256
    http_server.files["/keras/mobilenet/mobilenet_2_5_128_tf_no_top.h5"] = data
    monkeypatch.setenv("IMGCLF_WEIGHTS_MIRROR", http_server.url("/keras"))
    base = features(backbone="mobilenet", alpha=0.25, image_size=128)
    downloaded, _ = run(split_dir, tmp_path / "a", dataclasses.replace(base, weights="imagenet"))
    local, _ = run(split_dir, tmp_path / "b", dataclasses.replace(base, weights=str(MOBILENET_025)))
    assert downloaded.weights_sha256 == local.weights_sha256 == MOBILENET_025_SHA256
    np.testing.assert_array_equal(load_array(tmp_path / "a" / "val.npy"), load_array(tmp_path / "b" / "val.npy"))


def test_bfloat16_applies_to_the_training_side_and_the_test_embeddings_stay_float32(split_dir, tmp_path):
    """The test embeddings are what evaluate scores; the exported model computes in float32, so they must too."""
    params = features()  # a random ResNet50 keeps a signal at 32 px; random MobileNets decay to ~0
    full, _ = run(split_dir, tmp_path / "f32", dataclasses.replace(params, precision="float32"))
    half, _ = run(split_dir, tmp_path / "bf16", dataclasses.replace(params, precision="bfloat16"))
    assert (full.precision, half.precision) == ("float32", "bfloat16")
    assert half.precision_check["reason"] == "features.precision: bfloat16"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was
    a = load_array(tmp_path / "f32" / "val.npy").astype("float32")
    b = load_array(tmp_path / "bf16" / "val.npy").astype("float32")
    assert not np.array_equal(a, b) and np.linalg.norm(a - b) / np.linalg.norm(a) < 0.1
    for name in ("test.npy", "test_flip.npy"):
        assert (tmp_path / "f32" / name).read_bytes() == (tmp_path / "bf16" / name).read_bytes()


def measured(error: float):
    return lambda: Measurement(error, 2 * error)


@pytest.mark.parametrize(
    "setting, native, backbone, measurement, expected, reason",
    [
        ("float32", True, "resnet50", None, "float32", "features.precision: float32"),
        ("bfloat16", False, "mobilenet", None, "bfloat16", "features.precision: bfloat16"),
        ("auto", False, "resnet50", None, "float32", "auto: this CPU has no bfloat16 units"),
        ("auto", True, "mobilenet", None, "float32", "mobilenet is not among the backbones measured faster"),
        ("auto", True, "resnet50", measured(0.09), "float32", f"above the {TOLERANCE:.1%} tolerance"),
        ("auto", True, "resnet101", measured(0.0034), "bfloat16", "median embedding error 0.34%, within 0.5%"),
    ],
)
def test_auto_keeps_bfloat16_only_for_a_backbone_measured_faster_and_close(
    setting, native, backbone, measurement, expected, reason
):
    def never():
        raise AssertionError("measured when it need not be")

    choice = decide(setting, native, backbone, measurement or never)
    assert choice.precision == expected and reason in choice.reason


def test_auto_decides_the_same_on_every_run_from_the_embeddings_not_a_timing(split_dir, tmp_path, monkeypatch):
    """On any CPU: pretend it has bfloat16 units, so the real comparison runs (emulated where it has not). Two
    runs write the same bytes, with no file outside the outputs to remember a verdict in."""
    monkeypatch.setattr(featurize_module, "native_bfloat16", lambda: True)
    params = features(backbone="resnet50", batch_size=4)
    first, _ = run(split_dir, tmp_path / "a", params)
    second, _ = run(split_dir, tmp_path / "b", params)
    check = first.precision_check
    assert check["precision"] == first.precision and check["reason"].startswith("auto: median embedding error")
    assert 0 <= check["error_median"] <= check["error_max"] and check["tolerance"] == TOLERANCE
    assert first.precision_check == second.precision_check
    for name in ("train.npy", "val.npy"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_views_cache_augmented_training_embeddings_and_the_mirrored_test_set(split_dir, tmp_path):
    params = features(backbone="mobilenet", alpha=0.25, batch_size=4, views=3)
    manifest, timing = run(split_dir, tmp_path / "f", params)
    views = load_array(tmp_path / "f" / "train_views.npy")
    assert views.shape == (2, 10, 256) and manifest.views == 3
    assert load_array(tmp_path / "f" / "test_flip.npy").shape == (6, 256)
    assert timing["images"] == 10 + 4 + 6 + 6 + 2 * 10  # every view featurized: the cost is reported
    with keras_state(0):
        model = build_featurizer(params, (32, 32, 3), None, seed=0)
    images = load_array(split_dir / "train_images.npy")
    mirrored = model.predict(np.asarray(images)[:, :, ::-1], verbose=0)
    np.testing.assert_allclose(views[0], mirrored, rtol=1e-4, atol=1e-5)
