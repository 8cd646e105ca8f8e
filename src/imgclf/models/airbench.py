"""The airbench94 network (Jordan 2024, "94% on CIFAR-10 in 3.29 Seconds on a Single GPU"), for a CPU hour.

A 2x2 stem, then three groups of conv 3x3 -> max-pool 2 -> BN -> GELU -> conv
3x3 -> BN -> GELU (widths 64, 256, 256), then a max over the last map. Its
work is dense 3x3 convolutions, which a CPU runs at a higher share of its
peak than depthwise ones: on the project's 2-core CPU it trains 2.4 times the
parameters of MobileNet V1 at alpha 0.5 at 1.3 times its pictures per second
(``imgclf plan``, measured.md).

The paper's tricks that need a training loop of their own are left out: the
stem is trained like every other layer (the paper freezes it at the whitening
of 2x2 patches), convolutions start from He initialisation (not identity), and
there is no Lookahead; the project's recipe (SGD, cosine, label smoothing;
``evaluate.tta: flip`` where wanted) stands in. Its BatchNormalizations learn a shift but no
scale, as the paper's do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..constraints import UNIT_INTERVAL, ListOf, Number, param
from ..errors import ParamsError
from ..training.recipe import ScratchOptimization
from ..training.spec import ModelSpec
from . import BN_MOMENTUM

if TYPE_CHECKING:
    import keras

    from ..training.spec import BuildContext

STEM_KERNEL = 2


@dataclass(frozen=True)
class AirbenchParams(ScratchOptimization):
    widths: list = param([64, 256, 256], ListOf(Number(int, 1)))  # the three conv groups
    stem_width: int = param(24, Number(int, 1))  # the paper's 2 * 3 * 2**2: every 2x2 patch direction, both signs
    dropout: float = param(0.0, UNIT_INTERVAL)
    label_smoothing: float = param(0.2, UNIT_INTERVAL)  # the paper's

    def check(self, where: str, prefix: str) -> None:
        super().check(where, prefix)
        if len(self.widths) != 3:
            raise ParamsError(f"{where}: {prefix}widths must list 3 widths (one per conv group); got {self.widths}")


def conv_group(x, filters: int, name: str):
    from keras import layers

    def conv(suffix: str):
        return layers.Conv2D(
            filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal", name=f"{name}_{suffix}"
        )

    x = layers.MaxPooling2D(2, name=f"{name}_pool")(conv("conv1")(x))
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, scale=False, name=f"{name}_bn1")(x)
    x = layers.Activation("gelu", name=f"{name}_gelu1")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, scale=False, name=f"{name}_bn2")(conv("conv2")(x))
    return layers.Activation("gelu", name=f"{name}_gelu2")(x)


def build_airbench(image_size: int, widths: tuple = (64, 256, 256), stem_width: int = 24) -> keras.Model:
    """Features (N, widths[-1]) from images; at 32x32 the last map is 3x3, which the paper max-pools whole."""
    import keras
    from keras import layers

    inputs = keras.Input((image_size, image_size, 3), name="pixels")
    x = layers.Conv2D(stem_width, STEM_KERNEL, padding="valid", name="stem")(inputs)
    x = layers.Activation("gelu", name="stem_gelu")(x)
    for i, filters in enumerate(widths, start=1):
        x = conv_group(x, filters, f"group{i}")
    x = layers.GlobalMaxPooling2D(name="pool")(x)
    return keras.Model(inputs, x, name=f"airbench_{'_'.join(map(str, widths))}")


def build(recipe: AirbenchParams, context: BuildContext) -> keras.Model:
    from .classifier import image_classifier

    features = build_airbench(context.input_shape[0], tuple(recipe.widths), recipe.stem_width)
    return image_classifier(
        features, context.input_shape[0], context.num_classes, recipe.augment, recipe.dropout, context.seed
    )


SPEC = ModelSpec(
    AirbenchParams, "images", build=build, small={"widths": [8, 16, 16], "stem_width": 8, "epochs": 1, "batch_size": 32}
)
