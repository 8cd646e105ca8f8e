"""MobileNet V1 and V2 for 32x32 inputs against keras.applications and the papers (models/mobilenet_v1.py, _v2.py)."""

import keras
import pytest

from imgclf.models.mobilenet_v1 import build_mobilenet_v1
from imgclf.models.mobilenet_v2 import build_mobilenet_v2, make_divisible

IMAGENET_STRIDES = (2, 2, 2, 2, 2)
CIFAR_STRIDES = (1, 1, 2, 2, 2)
# ours, keras.applications' counterpart, its parameter count without top at alpha 1 (Howard et al. 2017:
# 3.2M for MobileNet V1; Sandler et al. 2018: 2.26M for V2's convolutional part), widths Keras builds
NETWORKS = {
    "v1": (build_mobilenet_v1, keras.applications.MobileNet, 3_228_864, (0.25, 0.5, 0.75)),
    "v2": (build_mobilenet_v2, keras.applications.MobileNetV2, 2_257_984, (0.35, 0.5, 1.4)),
}
CASES = [(net, alpha) for net, (*_, alphas) in NETWORKS.items() for alpha in alphas]


@pytest.mark.parametrize("strides", [IMAGENET_STRIDES, CIFAR_STRIDES], ids=["imagenet", "cifar"])
@pytest.mark.parametrize("net", list(NETWORKS))
def test_parameter_count_matches_the_paper_and_keras_applications(net, strides):
    build, reference, count, _ = NETWORKS[net]
    ours = build(32, alpha=1.0, strides=strides)
    assert ours.count_params() == count
    assert ours.count_params() == reference(include_top=False, weights=None, input_shape=(32, 32, 3)).count_params()


@pytest.mark.parametrize("net, alpha", CASES)
def test_width_multiplier_matches_keras(net, alpha):
    build, reference, _, _ = NETWORKS[net]
    expected = reference(include_top=False, weights=None, input_shape=(32, 32, 3), alpha=alpha).count_params()
    assert build(32, alpha=alpha).count_params() == expected


@pytest.mark.parametrize("strides, side", [(IMAGENET_STRIDES, 1), (CIFAR_STRIDES, 4)], ids=["imagenet", "cifar"])
@pytest.mark.parametrize("net", list(NETWORKS))
def test_cifar_strides_keep_a_4x4_final_map(net, strides, side):
    """The stock networks are 1x1 before pooling at 32x32, why they stall on CIFAR."""
    model = NETWORKS[net][0](32, alpha=0.25, strides=strides)
    assert tuple(model.get_layer("pool").input.shape[1:3]) == (side, side)


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


def test_make_divisible_rounds_like_the_reference():
    assert [make_divisible(v) for v in (16, 12, 11.2, 20, 1280 * 1.4)] == [16, 16, 16, 24, 1792]
