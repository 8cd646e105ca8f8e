"""MobileNet V2 (Sandler et al. 2018): inverted residuals with linear bottlenecks, for 32x32 inputs.

The stock network halves the resolution five times, so a 32x32 CIFAR image
is 1x1 before pooling and training stalls. Here the stem and the first
downsampling stage use stride 1 by default, leaving a 4x4 final map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..constraints import POSITIVE, UNIT_INTERVAL, param
from . import BN_MOMENTUM
from .recipe import STRIDES, ScratchOptimization, check_strides
from .spec import ModelSpec

if TYPE_CHECKING:
    import keras

    from .spec import BuildContext

# (expansion t, output channels c, repeats n, stride slot) as in the paper's Table 2.
# Slot indexes ``strides`` (slot 0 is the stem); None means stride 1.
STAGES = [
    (1, 16, 1, None),
    (6, 24, 2, 1),
    (6, 32, 3, 2),
    (6, 64, 4, 3),
    (6, 96, 3, None),
    (6, 160, 3, 4),
    (6, 320, 1, None),
]


@dataclass(frozen=True)
class MobileNetV2Params(ScratchOptimization):
    alpha: float = param(0.5, POSITIVE)
    strides: list = param([1, 1, 2, 2, 2], STRIDES)  # stem, then the 24-, 32-, 64- and 160-channel stages
    dropout: float = param(0.2, UNIT_INTERVAL)

    def check(self, where: str, prefix: str) -> None:
        super().check(where, prefix)
        check_strides(where, prefix, self.strides)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of 8, never more than 10% below the asked value."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def inverted_residual(x, expansion: int, filters: int, stride: int, name: str):
    from keras import layers

    channels = x.shape[-1]
    y = x
    if expansion != 1:
        y = layers.Conv2D(channels * expansion, 1, use_bias=False, name=f"{name}_expand")(y)
        y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_expand_bn")(y)
        y = layers.ReLU(6.0, name=f"{name}_expand_relu")(y)
    y = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(y)
    y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_dw_bn")(y)
    y = layers.ReLU(6.0, name=f"{name}_dw_relu")(y)
    y = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project")(y)
    y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_project_bn")(y)  # linear bottleneck: no ReLU
    if stride == 1 and channels == filters:
        y = layers.Add(name=f"{name}_add")([x, y])
    return y


def build_mobilenet_v2(image_size: int, alpha: float = 1.0, strides: tuple = (1, 1, 2, 2, 2)) -> keras.Model:
    """Features (N, 1280) from images. With alpha 1 the convolutional part has 2,257,984
    parameters, like ``keras.applications.MobileNetV2(include_top=False)``."""
    import keras
    from keras import layers

    inputs = keras.Input((image_size, image_size, 3), name="pixels")
    x = layers.Conv2D(make_divisible(32 * alpha), 3, strides=strides[0], padding="same", use_bias=False, name="stem")(
        inputs
    )
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    block = 0
    for expansion, channels, repeats, slot in STAGES:
        for i in range(repeats):
            stride = strides[slot] if (slot is not None and i == 0) else 1
            x = inverted_residual(x, expansion, make_divisible(channels * alpha), stride, f"block{block}")
            block += 1
    last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, 1, use_bias=False, name="head_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="head_bn")(x)
    x = layers.ReLU(6.0, name="head_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, x, name=f"mobilenet_v2_{alpha:g}")


def build(recipe: MobileNetV2Params, context: BuildContext) -> keras.Model:
    from .classifier import image_classifier

    features = build_mobilenet_v2(context.input_shape[0], recipe.alpha, tuple(recipe.strides))
    return image_classifier(
        features, context.input_shape[0], context.num_classes, recipe.augment, recipe.dropout, context.seed
    )


SPEC = ModelSpec(MobileNetV2Params, "images", build=build, small={"alpha": 0.35, "epochs": 1, "batch_size": 32})
