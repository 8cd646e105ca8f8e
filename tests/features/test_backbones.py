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
