"""MobileNet V1 for 32x32 inputs against keras.applications and the paper (models/mobilenet_v1.py)."""

import keras
import pytest

from imgclf.models.mobilenet_v1 import build_mobilenet_v1

IMAGENET_STRIDES = (2, 2, 2, 2, 2)
CIFAR_STRIDES = (1, 1, 2, 2, 2)


@pytest.mark.parametrize("strides", [IMAGENET_STRIDES, CIFAR_STRIDES])
def test_mobilenet_v1_matches_keras_applications_count(strides):
    ours = build_mobilenet_v1(32, alpha=1.0, strides=strides)
    assert ours.count_params() == 3_228_864
    reference = keras.applications.MobileNet(include_top=False, weights=None, input_shape=(32, 32, 3))
    assert ours.count_params() == reference.count_params()


@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.75])
def test_mobilenet_v1_width_multiplier_matches_keras(alpha):
    reference = keras.applications.MobileNet(include_top=False, weights=None, input_shape=(32, 32, 3), alpha=alpha)
    assert build_mobilenet_v1(32, alpha=alpha).count_params() == reference.count_params()


def test_mobilenet_v1_uses_the_papers_block_not_separable_conv():
    model = build_mobilenet_v1(32, alpha=0.25)
    names = [layer.name for layer in model.layers]
    assert not any(isinstance(layer, keras.layers.SeparableConv2D) for layer in model.layers)
    i = names.index("block1_dw")
    assert names[i : i + 6] == [
        "block1_dw",
        "block1_dw_bn",
        "block1_dw_relu",
        "block1_pw",
        "block1_pw_bn",
        "block1_pw_relu",
    ]


def test_mobilenet_v1_shallow_drops_the_five_512_blocks():
    deep, shallow = build_mobilenet_v1(32, 1.0), build_mobilenet_v1(32, 1.0, shallow=True)
    per_block = 3 * 3 * 512 + 4 * 512 + 512 * 512 + 4 * 512  # depthwise + BN + pointwise + BN
    assert deep.count_params() - shallow.count_params() == 5 * per_block


@pytest.mark.parametrize("strides, side", [(IMAGENET_STRIDES, 1), (CIFAR_STRIDES, 4)])
def test_cifar_strides_keep_a_4x4_final_map(strides, side):
    model = build_mobilenet_v1(32, alpha=0.25, strides=strides)
    assert tuple(model.get_layer("pool").input.shape[1:3]) == (side, side)
