"""MobileNet V1 (Howard et al. 2017), the paper's block, adapted to 32x32 inputs.

The paper's depthwise-separable block is depthwise 3x3 -> BN -> ReLU ->
pointwise 1x1 -> BN -> ReLU. ``keras.layers.SeparableConv2D`` fuses the two
convolutions with nothing in between, so it is not this block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..constraints import POSITIVE, UNIT_INTERVAL, Flag, param
from . import BN_MOMENTUM
from .recipe import STRIDES, ScratchOptimization, check_strides
from .spec import ModelSpec

if TYPE_CHECKING:
    import keras

    from .spec import BuildContext

# (pointwise filters, stride slot) for the 13 separable blocks; a slot indexes ``strides``.
# Slot 0 is the stem; slots 1-4 are the four downsampling blocks; None means stride 1.
BLOCKS = [(64, None), (128, 1), (128, None), (256, 2), (256, None), (512, 3)]
REPEATED_512 = [(512, None)] * 5  # dropped by shallow=True
TAIL = [(1024, 4), (1024, None)]


@dataclass(frozen=True)
class MobileNetV1Params(ScratchOptimization):
    alpha: float = param(0.5, POSITIVE)  # width multiplier
    shallow: bool = param(False, Flag())  # drop the five repeated 512-channel blocks
    strides: list = param([1, 1, 2, 2, 2], STRIDES)  # ImageNet: [2, 2, 2, 2, 2]
    dropout: float = param(0.001, UNIT_INTERVAL)

    def check(self, where: str, prefix: str) -> None:
        super().check(where, prefix)
        check_strides(where, prefix, self.strides)


def separable_block(x, filters: int, stride: int, name: str):
    from keras import layers

    x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_dw_bn")(x)
    x = layers.ReLU(6.0, name=f"{name}_dw_relu")(x)
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_pw_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_pw_relu")(x)


def build_mobilenet_v1(
    image_size: int, alpha: float = 1.0, shallow: bool = False, strides: tuple = (1, 1, 2, 2, 2)
) -> keras.Model:
    """Features (N, 1024*alpha) from images; strides (1, 1, 2, 2, 2) leave a 4x4 map at 32x32.

    With ImageNet strides (2, 2, 2, 2, 2) a 32x32 input is 1x1 before pooling.
    ReLU6 as in the reference Keras implementation. With alpha 1 the convolutional
    part has 3,228,864 parameters, like ``keras.applications.MobileNet(include_top=False)``.
    """
    import keras
    from keras import layers

    inputs = keras.Input((image_size, image_size, 3), name="pixels")
    x = layers.Conv2D(int(32 * alpha), 3, strides=strides[0], padding="same", use_bias=False, name="stem")(inputs)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    plan = BLOCKS + ([] if shallow else REPEATED_512) + TAIL
    for i, (filters, slot) in enumerate(plan, start=1):
        x = separable_block(x, int(filters * alpha), 1 if slot is None else strides[slot], f"block{i}")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, x, name=f"mobilenet_v1_{alpha:g}{'_shallow' if shallow else ''}")


def build(recipe: MobileNetV1Params, context: BuildContext) -> keras.Model:
    from .classifier import image_classifier

    features = build_mobilenet_v1(context.input_shape[0], recipe.alpha, recipe.shallow, tuple(recipe.strides))
    return image_classifier(
        features, context.input_shape[0], context.num_classes, recipe.augment, recipe.dropout, context.seed
    )


SPEC = ModelSpec(
    MobileNetV1Params, "images", build=build, small={"alpha": 0.25, "shallow": True, "epochs": 1, "batch_size": 32}
)
