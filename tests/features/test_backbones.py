"""ImageNet weight files: the Keras location and md5, mirrors, local files (features/backbones.py)."""

import pytest

from imgclf.errors import DownloadError, ParamsError
from imgclf.features.backbones import build_backbone, imagenet_weights_file, resolve_weights


def test_weights_file_that_does_not_exist_names_the_param():
    with pytest.raises(ParamsError, match=r"features\.weights: no such weights file 'nope\.h5'"):
        resolve_weights("resnet50", "nope.h5", 1.0, 32)


def test_alpha_is_refused_for_backbones_without_one():
    with pytest.raises(ParamsError, match=r"features\.alpha applies to MobileNet backbones only"):
        build_backbone("resnet50", None, 0.5, 32, seed=0)


def test_resnet50_imagenet_weights_come_from_the_keras_location_with_its_md5(http_server, monkeypatch):
    url, md5 = imagenet_weights_file("resnet50", 1.0, 224)
    assert url == (
        "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )
    assert md5 == "4d473c1dd8becc155b73f8504c6f6626"  # the no-top file's hash as keras.applications publishes it
    monkeypatch.setenv("IMGCLF_WEIGHTS_MIRROR", http_server.url("/mirror"))
    http_server.files["/mirror/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"] = b"not the weights"
    with pytest.raises(DownloadError, match=f"md5 mismatch: expected {md5}"):
        resolve_weights("resnet50", "imagenet", 1.0, 224)


def test_a_random_backbone_is_a_function_of_its_seed_and_leaves_the_runs_own_generators_alone():
    """Built mid-run (fine-tuning's phase 2, export), it must not reseed the generators the run draws from."""
    import random

    import numpy as np

    random.seed(123)
    first = build_backbone("mobilenet", None, 0.25, 32, seed=7).get_weights()
    after_build = random.random()
    random.seed(123)
    expected_next = random.random()  # what the run would have drawn without the build
    random.seed(999)  # whatever the run drew before
    second = build_backbone("mobilenet", None, 0.25, 32, seed=7).get_weights()
    assert after_build == expected_next
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    other = build_backbone("mobilenet", None, 0.25, 32, seed=8).get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
