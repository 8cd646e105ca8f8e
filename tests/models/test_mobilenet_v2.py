"""MobileNet V2 for 32x32 inputs against keras.applications and the paper (models/mobilenet_v2.py)."""

import keras
import pytest

from imgclf.models.mobilenet_v2 import build_mobilenet_v2, make_divisible

IMAGENET_STRIDES = (2, 2, 2, 2, 2)
CIFAR_STRIDES = (1, 1, 2, 2, 2)


@pytest.mark.parametrize("strides", [IMAGENET_STRIDES, CIFAR_STRIDES])
def test_mobilenet_v2_matches_keras_applications_count(strides):
    ours = build_mobilenet_v2(32, alpha=1.0, strides=strides)
    assert ours.count_params() == 2_257_984
    reference = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    assert ours.count_params() == reference.count_params()


@pytest.mark.parametrize("alpha", [0.35, 0.5, 1.4])
def test_mobilenet_v2_width_multiplier_matches_keras(alpha):
    reference = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3), alpha=alpha)
    assert build_mobilenet_v2(32, alpha=alpha).count_params() == reference.count_params()


def test_make_divisible_rounds_like_the_reference():
    assert [make_divisible(v) for v in (16, 12, 11.2, 20, 1280 * 1.4)] == [16, 16, 16, 24, 1792]


@pytest.mark.parametrize("strides, side", [(IMAGENET_STRIDES, 1), (CIFAR_STRIDES, 4)])
def test_cifar_strides_keep_a_4x4_final_map(strides, side):
    """The stock network is 1x1 before pooling at 32x32, why it stalls on CIFAR."""
    model = build_mobilenet_v2(32, alpha=0.25, strides=strides)
    assert tuple(model.get_layer("pool").input.shape[1:3]) == (side, side)
