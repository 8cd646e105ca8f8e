"""The airbench94 network and recipe (Jordan 2024, "94% on CIFAR-10 in 3.29 Seconds on a Single GPU"; its code,
github.com/KellerJordan/cifar10-airbench ``airbench94.py``), for a CPU.

A 2x2 stem, then three groups of conv 3x3 -> max-pool 2 -> BN -> GELU -> conv
3x3 -> BN -> GELU (widths 64, 256, 256), then a max over the last map and a
bias-free classifier whose logits are scaled by 1/9. Its work is dense 3x3
convolutions, which a CPU runs at a higher share of its peak than depthwise
ones. Its defaults are the paper's recipe, component by component (each a
param; docs/models.md measures each against the paper's own code): the stem
frozen at the whitening of the training pictures' 2x2 patches, its bias
trained for 3 epochs; each 3x3 convolution's first filters starting as the
identity; PyTorch's default initialisation; BatchNormalizations that learn a
shift but no scale, with momentum 0.6 and eps 1e-12; SGD with Nesterov
momentum 0.85 at batch 1024, lr 1.5 and an L2 term 0.00133 (the paper's
11.5 and 0.0153 per 1024 pictures, in this project's per-step form), the
shifts' steps 64 times larger; the triangular schedule over 10 epochs;
Lookahead; label smoothing 0.2; alternating flips and 2-px shifts; and its
six-view test (``evaluate.tta: flip_translate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..constraints import POSITIVE, UNIT_INTERVAL, Flag, FlagOr, ListOf, Number, OneOf, param
from ..errors import ParamsError
from .recipe import SCHEDULES, WHITENED_STEM, Augment, ScratchOptimization
from .spec import ModelSpec

if TYPE_CHECKING:
    import keras

    from .spec import BuildContext

STEM_KERNEL = 2
PATCH_DIM = STEM_KERNEL * STEM_KERNEL * 3
WHITEN_EPS = 5e-4  # the paper's, for pixels of unit variance; scaled to the pixels' own variance
WHITEN_PICTURES = 5000  # the paper's count, unaugmented; spread over the split, which is stored class by class
BN_EPSILON = 1e-12  # the paper's: its BatchNormalizations divide by the batch's own spread, all but unsmoothed
# PyTorch's default initialisation, the paper's: uniform within 1/sqrt(fan_in), a third of He's variance; with the
# learning rate and decay tuned for it (a weight before BatchNormalization learns at lr / |w|^2)
TORCH_INIT = {"class_name": "VarianceScaling", "config": {"scale": 1 / 3, "mode": "fan_in", "distribution": "uniform"}}


@dataclass(frozen=True)
class AirbenchAugment(Augment):
    flip: bool | str = param("alternating", FlagOr(("alternating",)))  # the paper's
    translate: int = param(2, Number(int, 0))  # the paper's; measured.md: ahead of 4 px over most of an hour run


@dataclass(frozen=True)
class AirbenchParams(ScratchOptimization):
    widths: list = param([64, 256, 256], ListOf(Number(int, 1)))  # the three conv groups
    stem_width: int = param(24, Number(int, 1))  # the paper's 2 * 3 * 2**2: every 2x2 patch direction, both signs
    dropout: float = param(0.0, UNIT_INTERVAL)
    # The paper's 1/9: its max-pooled features are large and positive, so unscaled logits move by lr * |x|^2
    # per step and diverge at SGD 0.1 on a small dataset (8 steps per epoch: loss 9.5, val_loss 375).
    logit_scale: float = param(0.111111, Number(float, 0, 1, "right"))
    bn_momentum: float = param(0.6, Number(float, 0, 1, "left"))  # the paper's (PyTorch's momentum 0.4)
    whiten: bool = param(True, Flag())  # stem frozen at the whitening of the training pictures' 2x2 patches
    whiten_bias_epochs: int = param(3, Number(int, 0))  # the paper's: the whitened stem's bias trains this long
    identity_init: bool = param(True, Flag())  # 3x3 convolutions' first filters start as the identity
    epochs: int = param(10, Number(int, 1))  # the paper's 9.9
    batch_size: int = param(1024, Number(int, 1))
    learning_rate: float = param(1.5, POSITIVE)  # the paper's 11.5 per 1024 pictures / (1 + 1 / (1 - 0.85))
    momentum: float = param(0.85, UNIT_INTERVAL)
    weight_decay: float = param(0.00133, Number(float, 0))  # the paper's 0.0153 per 1024 pictures / 11.5
    schedule: str = param("triangular", OneOf(SCHEDULES))
    warmup_epochs: float = param(2.3, Number(float, 0))  # the paper's 23% of the steps
    label_smoothing: float = param(0.2, UNIT_INTERVAL)  # the paper's
    lookahead: bool = param(True, Flag())
    bias_lr_scale: float = param(64.0, Number(float, 1, 1024))
    augment: AirbenchAugment = field(default_factory=AirbenchAugment)

    def check(self, where: str, prefix: str) -> None:
        super().check(where, prefix)
        if len(self.widths) != 3:
            raise ParamsError(f"{where}: {prefix}widths must list 3 widths (one per conv group); got {self.widths}")
        if self.whiten and self.stem_width != 2 * PATCH_DIM:
            raise ParamsError(
                f"{where}: {prefix}whiten needs {prefix}stem_width {2 * PATCH_DIM} (each of the {PATCH_DIM} "
                f"directions of a 2x2 RGB patch, both signs); got {self.stem_width}"
            )


def conv_group(x, filters: int, name: str, bn_momentum: float):
    from keras import layers

    def conv(suffix: str):
        return layers.Conv2D(
            filters, 3, padding="same", use_bias=False, kernel_initializer=TORCH_INIT, name=f"{name}_{suffix}"
        )

    def norm(suffix: str):
        return layers.BatchNormalization(momentum=bn_momentum, epsilon=BN_EPSILON, scale=False, name=f"{name}_{suffix}")

    x = norm("bn1")(layers.MaxPooling2D(2, name=f"{name}_pool")(conv("conv1")(x)))
    x = layers.Activation("gelu", name=f"{name}_gelu1")(x)
    return layers.Activation("gelu", name=f"{name}_gelu2")(norm("bn2")(conv("conv2")(x)))


def build_airbench(
    image_size: int, widths: tuple = (64, 256, 256), stem_width: int = 24, bn_momentum: float = 0.6, stem="stem"
) -> keras.Model:
    """Features (N, widths[-1]) from images; at 32x32 the last map is 3x3, which the paper max-pools whole."""
    import keras
    from keras import layers

    inputs = keras.Input((image_size, image_size, 3), name="pixels")
    x = layers.Conv2D(stem_width, STEM_KERNEL, padding="valid", kernel_initializer=TORCH_INIT, name=stem)(inputs)
    x = layers.Activation("gelu", name="stem_gelu")(x)
    for i, filters in enumerate(widths, start=1):
        x = conv_group(x, filters, f"group{i}", bn_momentum)
    x = layers.GlobalMaxPooling2D(name="pool")(x)
    return keras.Model(inputs, x, name=f"airbench_{'_'.join(map(str, widths))}")


def patch_whitening(
    pictures: np.ndarray, eps: float = WHITEN_EPS, chunk: int = 500, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The stem's (kernel (2, 2, 3, 24), bias (24,)) that maps each 2x2 patch of ``pictures`` (uint8, scaled
    to [-1, 1] as the model does) onto its principal directions, centred and divided by their spread, with
    both signs so that the GELU after it keeps every direction.

    A direction the pictures do not vary along (a grayscale picture has no colour, an upsampled one no
    detail between its pixels) would be a constant channel; the BatchNormalizations after it multiply its
    gradients by 1/sqrt(their eps) each along the identity-initialised filters, and the weights blow up
    (an L2 penalty of millions on upsampled digits). Such a filter is a random mixture of the directions
    the pictures do vary along instead, at unit variance.
    """
    total = np.zeros(PATCH_DIM)
    products = np.zeros((PATCH_DIM, PATCH_DIM))
    count = 0
    for start in range(0, len(pictures), chunk):
        block = np.asarray(pictures[start : start + chunk], dtype=np.float64) / 127.5 - 1.0
        windows = np.lib.stride_tricks.sliding_window_view(block, (STEM_KERNEL, STEM_KERNEL), axis=(1, 2))
        # (n, h', w', 3, 2, 2) -> rows in the kernel's (row, column, channel) order
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, PATCH_DIM)
        total += patches.sum(0)
        products += patches.T @ patches
        count += len(patches)
    mean = total / count
    covariance = products / count - np.outer(mean, mean)
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, 0.0)
    scale = eps * max(np.trace(covariance) / PATCH_DIM, 1e-6)  # pictures of one colour stay finite
    directions = vectors / np.sqrt(values + scale)  # columns: one filter each
    flat = values < 1e-3 * scale  # its output's variance values / (values + scale) is under 0.001
    if flat.any() and not flat.all():
        mixing = np.random.default_rng(seed).normal(size=((~flat).sum(), flat.sum()))
        mixed = directions[:, ~flat] @ mixing
        directions[:, flat] = mixed / np.sqrt(np.einsum("ij,ik,kj->j", mixed, covariance, mixed))
    kernel = np.concatenate([directions, -directions], axis=1)
    return kernel.reshape(STEM_KERNEL, STEM_KERNEL, 3, 2 * PATCH_DIM), -(mean @ kernel)


def start_as_identity(features: keras.Model) -> None:
    """Each 3x3 convolution's first min(in, out) filters pass their input channel through unchanged."""
    for layer in features.layers:
        if layer.name.startswith("group") and "conv" in layer.name:
            kernel = np.array(layer.get_weights()[0])
            channels = min(kernel.shape[2], kernel.shape[3])
            kernel[:, :, :, :channels] = 0.0
            kernel[1, 1, np.arange(channels), np.arange(channels)] = 1.0
            layer.set_weights([kernel])


def build(recipe: AirbenchParams, context: BuildContext) -> keras.Model:
    from .classifier import image_classifier

    stem = WHITENED_STEM if recipe.whiten else "stem"
    shape = (tuple(recipe.widths), recipe.stem_width, recipe.bn_momentum)
    features = build_airbench(context.input_shape[0], *shape, stem=stem)
    if recipe.whiten:
        if context.train_images is None:
            raise ValueError("airbench's whiten needs the training pictures (BuildContext.train_images)")
        pictures = context.train_images
        sample = pictures[:: max(1, len(pictures) // WHITEN_PICTURES)][:WHITEN_PICTURES]
        features.get_layer(stem).set_weights([w.astype("float32") for w in patch_whitening(sample, seed=context.seed)])
        # frozen; with whiten_bias_epochs its bias trains that long (training.optim.step_scales holds the kernel)
        features.get_layer(stem).trainable = recipe.whiten_bias_epochs > 0
    if recipe.identity_init:
        start_as_identity(features)
    return image_classifier(
        features,
        context.input_shape[0],
        context.num_classes,
        recipe.augment,
        recipe.dropout,
        context.seed,
        recipe.logit_scale,
        logit_bias=False,
        logit_init=TORCH_INIT,
    )


# A CPU-second run; the rate is the paper's per picture (1.5 for a batch of 1024)
SMALL = {"widths": [8, 16, 16], "epochs": 1, "batch_size": 32, "learning_rate": 0.05}
SPEC = ModelSpec(AirbenchParams, "images", build=build, small=SMALL)
