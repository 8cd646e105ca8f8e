"""ResNeXt for CIFAR (Xie et al. 2017, section 5.1): aggregated residual transformations.

A 3x3 stem of 64 channels, then three stages of (depth - 2) / 9 bottleneck
blocks each: 1x1 reduce -> grouped 3x3 (``cardinality`` groups) -> 1x1 expand,
with BN after each convolution. Stage outputs are 64*widen*(1, 2, 4) channels
and the grouped width is cardinality*bottleneck_width*(1, 2, 4); the first
block of stages 2 and 3 downsamples. ResNeXt-29 8x64d (widen 4) is the paper's
34.4M-parameter network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..constraints import Number, OneOf, param
from ..errors import ParamsError
from . import BN_MOMENTUM
from .recipe import ScratchOptimization
from .spec import ModelSpec

if TYPE_CHECKING:
    import keras

    from .spec import BuildContext

STEM_CHANNELS = 64


@dataclass(frozen=True)
class ResNeXtParams(ScratchOptimization):
    depth: int = param(11, Number(int, 11))  # 9n+2: 29 = three blocks per stage
    cardinality: int = param(4, Number(int, 1))  # groups in the 3x3 convolution
    bottleneck_width: int = param(8, Number(int, 1))  # channels per group in the first stage
    widen_factor: int = param(1, Number(int, 1))  # stage outputs 64*widen*(1, 2, 4); the paper uses 4
    grouped_conv: str = param("auto", OneOf(("auto", "native", "split")))

    def check(self, where: str, prefix: str) -> None:
        super().check(where, prefix)
        if (self.depth - 2) % 9:
            raise ParamsError(f"{where}: {prefix}depth must be 9n+2 (11, 20, 29, ...); got {self.depth}")


def _conv_bn(x, filters: int, name: str, strides: int = 1):
    from keras import layers

    x = layers.Conv2D(filters, 1, strides=strides, use_bias=False, kernel_initializer="he_normal", name=name)(x)
    return layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)


def bottleneck(x, width: int, out: int, stride: int, cardinality: int, implementation: str, name: str):
    from keras import layers

    from .layers import GroupedConv2D

    shortcut = x
    if x.shape[-1] != out or stride != 1:
        shortcut = _conv_bn(x, out, f"{name}_shortcut", strides=stride)
    y = layers.ReLU(name=f"{name}_reduce_relu")(_conv_bn(x, width, f"{name}_reduce"))
    y = GroupedConv2D(
        width, 3, groups=cardinality, strides=stride, implementation=implementation, name=f"{name}_grouped"
    )(y)
    y = layers.ReLU(name=f"{name}_grouped_relu")(
        layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_grouped_bn")(y)
    )
    y = _conv_bn(y, out, f"{name}_expand")
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([shortcut, y]))


def build_resnext(
    image_size: int,
    depth: int = 29,
    cardinality: int = 8,
    bottleneck_width: int = 64,
    widen_factor: int = 4,
    implementation: str = "split",
) -> keras.Model:
    """Features (N, 256*widen) from images."""
    import keras
    from keras import layers

    if (depth - 2) % 9:
        raise ValueError(f"depth must be 9n+2; got {depth}")
    blocks = (depth - 2) // 9
    inputs = keras.Input((image_size, image_size, 3), name="pixels")
    x = layers.Conv2D(STEM_CHANNELS, 3, padding="same", use_bias=False, kernel_initializer="he_normal", name="stem")(
        inputs
    )
    x = layers.ReLU(name="stem_relu")(layers.BatchNormalization(momentum=BN_MOMENTUM, name="stem_bn")(x))
    for stage in range(3):
        width = cardinality * bottleneck_width * 2**stage
        out = STEM_CHANNELS * widen_factor * 2**stage
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 else 1
            x = bottleneck(x, width, out, stride, cardinality, implementation, f"stage{stage + 1}_block{block + 1}")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, x, name=f"resnext{depth}_{cardinality}x{bottleneck_width}d")


def build(recipe: ResNeXtParams, context: BuildContext) -> keras.Model:
    """``grouped_conv: auto`` takes the native grouped convolution on a GPU and the split one on a CPU,
    where TensorFlow has no kernel for it (measured 4-7x slower, see docs/benchmarks.md)."""
    from .classifier import image_classifier

    implementation = recipe.grouped_conv
    if implementation == "auto":
        implementation = "native" if context.on_gpu else "split"
    size = context.input_shape[0]
    features = build_resnext(
        size, recipe.depth, recipe.cardinality, recipe.bottleneck_width, recipe.widen_factor, implementation
    )
    return image_classifier(features, size, context.num_classes, recipe.augment, 0.0, context.seed)


SPEC = ModelSpec(
    ResNeXtParams, "images", build=build, small={"cardinality": 2, "bottleneck_width": 2, "epochs": 1, "batch_size": 32}
)
