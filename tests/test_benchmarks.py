"""The benchmark suite's FLOP accounting, checked against the papers' figures."""

import keras
import pytest

from benchmarks.harness import model_macs


@pytest.mark.parametrize(
    "build, paper_macs",
    [
        # He et al. 2016, Table 1: ResNet-50, 3.8e9 "FLOPs" (multiply-adds) at 224x224
        (lambda: keras.applications.ResNet50(weights=None, include_top=True), 3.8e9),
        # Howard et al. 2017, Table 8: 1.0 MobileNet-224, 569 million mult-adds
        (lambda: keras.applications.MobileNet(weights=None, include_top=True), 569e6),
    ],
    ids=["resnet50", "mobilenet_v1"],
)
def test_model_macs_match_the_papers(build, paper_macs):
    assert model_macs(build()) == pytest.approx(paper_macs, rel=0.02)


def test_model_macs_count_grouped_and_depthwise_kernels_once_per_output_position():
    inputs = keras.Input((8, 8, 16))
    x = keras.layers.Conv2D(32, 3, padding="same", groups=4)(inputs)  # 64 positions x 3*3*4*32
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same")(x)  # 16 positions x 3*3*32*1
    outputs = keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(x))  # 32*10
    assert model_macs(keras.Model(inputs, outputs)) == 64 * 3 * 3 * 4 * 32 + 16 * 3 * 3 * 32 + 32 * 10
