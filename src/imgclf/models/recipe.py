"""The training recipe every Keras-trained model's params section builds on: optimizer, schedule, augmentation.

Plain data, no Keras import: params validation reads these classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..constraints import POSITIVE, UNIT_INTERVAL, Flag, FlagOr, ListOf, Number, OneOf, param
from ..errors import ParamsError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "step", "plateau", "triangular")
CLASS_WEIGHTS = ("none", "balanced")  # balanced: each class weighs n / (classes * its count), scikit-learn's rule
WHITENED_STEM = "whitened_stem"  # the layer name of a model's frozen whitening convolution (airbench's stem)


@dataclass(frozen=True)
class Optimization:
    """How a Keras model is fitted; shared by every trained model's recipe."""

    epochs: int = param(40, Number(int, 1))
    batch_size: int = param(128, Number(int, 1))
    optimizer: str = param("adam", OneOf(OPTIMIZERS))
    learning_rate: float = param(0.001, POSITIVE)  # peak, after warmup
    momentum: float = param(0.9, UNIT_INTERVAL)  # sgd only (Nesterov)
    weight_decay: float = param(0.0001, Number(float, 0))
    # Sharpness-Aware Minimization radius; 0 = off. The paper's grid is 0.01-0.5 (0.05 usual); past 1 the
    # perturbed weights are another model's
    sam_rho: float = param(0.0, Number(float, 0, 1))
    ema: float = param(0.0, Number(float, 0, 1, "left"))  # momentum of a moving average of the weights; 0 = off
    schedule: str = param("constant", OneOf(SCHEDULES))
    warmup_epochs: float = param(0.0, Number(float, 0))
    step_at: list = param([0.5, 0.75], ListOf(Number(float, 0, 1, "neither")))  # fractions of epochs
    decay_factor: float = param(0.1, Number(float, 0, 1, "neither"))  # step and plateau
    plateau_patience: int = param(5, Number(int, 1))
    label_smoothing: float = param(0.0, UNIT_INTERVAL)
    patience: int = param(0, Number(int, 0))  # early stop after this many epochs without better val accuracy
    class_weight: str = param("none", OneOf(CLASS_WEIGHTS))  # balanced: rare classes count as much as common ones

    def check(self, where: str, prefix: str) -> None:
        # warmup_epochs >= epochs is allowed: a short smoke run scales its warmup down (training.fit.fitted_warmup).
        if self.step_at != sorted(self.step_at):
            raise ParamsError(
                f"{where}: {prefix}step_at must be increasing fractions of the epochs; got {self.step_at}"
            )


@dataclass(frozen=True)
class Augment:
    """Training-time augmentation; all of it runs inside the model, on the device."""

    # true: each picture mirrored at random; alternating (airbench): a random half mirrored in the first epoch,
    # and every picture mirrored in every other epoch, so two consecutive epochs see both sides of each
    flip: bool | str = param(True, FlagOr(("alternating",)))
    translate: int = param(4, Number(int, 0))  # px, random whole-pixel shift with reflected borders
    rotate: float = param(0.0, Number(float, 0, 180))  # degrees, random rotation up to +-this
    randaugment_ops: int = param(0, Number(int, 0))  # RandAugment ops per image; 0 = off
    randaugment_magnitude: float = param(0.5, Number(float, 0, 1))
    # Beta(alpha, alpha) mixing; 0 = off. The papers use 0.2-1; at 10 nearly every picture is an even blend
    mixup_alpha: float = param(0.0, Number(float, 0, 10))
    cutmix_alpha: float = param(0.0, Number(float, 0, 10))


@dataclass(frozen=True)
class ScratchOptimization(Optimization):
    """The from-scratch CIFAR recipe: SGD + Nesterov, wd 5e-4, batch 128, lr 0.1, warmup then cosine; and
    airbench94's components, each off here and on in airbench's defaults (docs/models.md measures each)."""

    epochs: int = param(15, Number(int, 1))
    optimizer: str = param("sgd", OneOf(OPTIMIZERS))
    learning_rate: float = param(0.1, POSITIVE)
    weight_decay: float = param(0.0005, Number(float, 0))
    schedule: str = param("cosine", OneOf(SCHEDULES))
    warmup_epochs: float = param(1.0, Number(float, 0))
    # Lookahead (Zhang et al. 2019) as airbench: every 5 steps the weights move to their slow average, which
    # follows them closely early on and ever more slowly towards the end (a decay of 0.95^5 * progress^3)
    lookahead: bool = param(False, Flag())
    # > 1: BatchNormalization shifts and biases take steps this many times larger, and are decayed like the
    # kernels (airbench's 64); 1: the standard recipe, kernels alone decayed. SGD only.
    bias_lr_scale: float = param(1.0, Number(float, 1, 1024))
    augment: Augment = field(default_factory=Augment)

    def check(self, where: str, prefix: str) -> None:
        super().check(where, prefix)
        if self.bias_lr_scale != 1.0 and self.optimizer != "sgd":
            raise ParamsError(
                f"{where}: {prefix}bias_lr_scale {self.bias_lr_scale:g} scales SGD's steps; {prefix}optimizer is "
                f"{self.optimizer!r} (Adam's steps do not scale with the gradient): set it to 1"
            )
        if self.lookahead and self.ema:
            raise ParamsError(f"{where}: {prefix}lookahead and {prefix}ema both average the weights: choose one")


@dataclass(frozen=True)
class SharedRecipe(ScratchOptimization):
    """params.yaml's ``recipe``: what every Keras-trained model's recipe starts from, written once; a model's own
    file, ``recipes/<model>.yaml``, lists its own knobs and what it changes (params_layout.py). The standard
    from-scratch recipe, but for its warmup, which each from-scratch model states."""

    warmup_epochs: float = param(0.0, Number(float, 0))


STRIDES = ListOf(Number(int, 1, 2))


def check_strides(where: str, prefix: str, strides: list) -> None:
    if len(strides) != 5:
        raise ParamsError(
            f"{where}: {prefix}strides must list 5 strides (stem and the four downsampling stages); got {strides}"
        )
