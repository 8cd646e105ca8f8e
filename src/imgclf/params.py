"""params.yaml as frozen dataclasses, validated before any work starts.

Each field declares its constraint next to its default (scikit-learn's
``_parameter_constraints`` idea); the same declaration produces the check and
the message, so a message always names the key, the allowed values and the
value given.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ParamsError

# ---------------------------------------------------------------- constraints


@dataclass(frozen=True)
class OneOf:
    values: tuple

    def ok(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Number:
    """An int or float in [low, high] (or open at an end, by ``closed``)."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # both | left | right | neither

    def ok(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if self.kind is float and not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.low is not None:
            if value < self.low or (value == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and self.closed in ("left", "neither")):
                return False
        return True

    def describe(self) -> str:
        name = "an integer" if self.kind is int else "a number"
        if self.low is None and self.high is None:
            return name
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{name} in {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Text:
    def ok(self, value: Any) -> bool:
        return isinstance(value, str)

    def describe(self) -> str:
        return "a string"


@dataclass(frozen=True)
class Flag:
    def ok(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class AutoOrFlag:
    """'auto', or a YAML boolean (``true``/``false``, as ``-S key=true`` writes it)."""

    def ok(self, value: Any) -> bool:
        return value == "auto" or isinstance(value, bool)

    def describe(self) -> str:
        return "'auto', true or false"


@dataclass(frozen=True)
class OrNull:
    inner: Any

    def ok(self, value: Any) -> bool:
        return value is None or self.inner.ok(value)

    def describe(self) -> str:
        return f"null or {self.inner.describe()}"


@dataclass(frozen=True)
class ListOf:
    inner: Any

    def ok(self, value: Any) -> bool:
        return isinstance(value, list) and all(self.inner.ok(v) for v in value)

    def describe(self) -> str:
        return f"a list, each item {self.inner.describe()}"


def param(default: Any, constraint: Any) -> Any:
    """A dataclass field whose constraint travels in its metadata."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"constraint": constraint})
    return field(default=default, metadata={"constraint": constraint})


# ------------------------------------------------------------------- sections

DATASETS = ("digits", "cifar10", "cifar100", "folder")


@dataclass(frozen=True)
class DataParams:
    dataset: str = param("digits", OneOf(DATASETS))
    url: str = param("", Text())
    md5: str = param("", Text())
    label_mode: str = param("fine", OneOf(("fine", "coarse")))
    path: str = param("", Text())
    image_size: int = param(32, Number(int, 8, 1024))
    on_bad_image: str = param("error", OneOf(("error", "skip")))
    test_fraction: float = param(0.2, Number(float, 0, 1, "neither"))
    val_fraction: float = param(0.1, Number(float, 0, 1, "neither"))
    limit_per_class: int | None = param(None, OrNull(Number(int, 1)))
    test_limit_per_class: int | None = param(None, OrNull(Number(int, 1)))

    def check(self, where: str, prefix: str) -> None:
        if self.dataset == "folder" and not self.path:
            raise ParamsError(f"{where}: data.path must name a directory or archive when data.dataset is 'folder'")
        if self.label_mode == "coarse" and self.dataset != "cifar100":
            raise ParamsError(f"{where}: data.label_mode 'coarse' exists only for data.dataset 'cifar100'; got dataset {self.dataset!r}")
        if self.md5 and not _is_hex(self.md5, 32):
            raise ParamsError(f"{where}: data.md5 must be 32 hex digits or ''; got {self.md5!r}")
        if self.url and not self.url.startswith(("http://", "https://", "file://")):
            raise ParamsError(f"{where}: data.url must start with http://, https:// or file://; got {self.url!r}")


@dataclass(frozen=True)
class FeaturesParams:
    backbone: str = param("resnet50", Text())
    weights: str = param("none", Text())  # imagenet | none | path to a weights file
    alpha: float = param(1.0, Number(float, 0, 4, "right"))
    image_size: int = param(32, Number(int, 32, 1024))
    batch_size: int = param(64, Number(int, 1))
    precision: str = param("auto", OneOf(("auto", "float32", "bfloat16")))

    def check(self, where: str, prefix: str) -> None:
        from .backbones import BACKBONES  # cheap: a table, no Keras import

        if self.backbone not in BACKBONES:
            raise ParamsError(
                f"{where}: features.backbone must be one of {', '.join(sorted(BACKBONES))}; got {self.backbone!r}"
            )
        if not self.weights:
            raise ParamsError(f"{where}: features.weights must be 'imagenet', 'none' or a path to a weights file; got ''")


OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "step", "plateau")
UNIT_INTERVAL = Number(float, 0, 1, "left")
POSITIVE = Number(float, 0, None, "neither")


@dataclass(frozen=True)
class Optimization:
    """How a Keras model is fitted; shared by every trained model's recipe."""

    epochs: int = param(40, Number(int, 1))
    batch_size: int = param(128, Number(int, 1))
    optimizer: str = param("adam", OneOf(OPTIMIZERS))
    learning_rate: float = param(0.001, POSITIVE)  # peak, after warmup
    momentum: float = param(0.9, UNIT_INTERVAL)  # sgd only (Nesterov)
    weight_decay: float = param(0.0001, Number(float, 0))
    sam_rho: float = param(0.0, Number(float, 0))  # Sharpness-Aware Minimization radius; 0 = off
    schedule: str = param("constant", OneOf(SCHEDULES))
    warmup_epochs: float = param(0.0, Number(float, 0))
    step_at: list = param([0.5, 0.75], ListOf(Number(float, 0, 1, "neither")))  # fractions of epochs
    decay_factor: float = param(0.1, Number(float, 0, 1, "neither"))  # step and plateau
    plateau_patience: int = param(5, Number(int, 1))
    label_smoothing: float = param(0.0, UNIT_INTERVAL)
    patience: int = param(0, Number(int, 0))  # early stop after this many epochs without better val accuracy

    def check(self, where: str, prefix: str) -> None:
        # warmup_epochs >= epochs is allowed: a short smoke run scales its warmup down (training.fitted_warmup).
        if self.step_at != sorted(self.step_at):
            raise ParamsError(f"{where}: {prefix}step_at must be increasing fractions of the epochs; got {self.step_at}")


@dataclass(frozen=True)
class Augment:
    """Training-time augmentation; all of it runs inside the model, on the device."""

    flip: bool = param(True, Flag())  # random left-right flip
    translate: int = param(4, Number(int, 0))  # px, random shift with reflected borders
    rotate: float = param(0.0, Number(float, 0, 180))  # degrees, random rotation up to +-this
    randaugment_ops: int = param(0, Number(int, 0))  # RandAugment ops per image; 0 = off
    randaugment_magnitude: float = param(0.5, Number(float, 0, 1))
    mixup_alpha: float = param(0.0, Number(float, 0))  # Beta(alpha, alpha) mixing; 0 = off
    cutmix_alpha: float = param(0.0, Number(float, 0))


@dataclass(frozen=True)
class LinearProbeParams:
    C: list = param([0.01, 0.1, 1.0], ListOf(POSITIVE))  # inverse L2 strength; best on validation is kept
    max_iter: int = param(1000, Number(int, 1))


@dataclass(frozen=True)
class HeadParams(Optimization):
    hidden_units: list = param([512], ListOf(Number(int, 1)))
    dropout: float = param(0.3, UNIT_INTERVAL)
    patience: int = param(10, Number(int, 0))


@dataclass(frozen=True)
class FinetuneParams(Optimization):
    head: HeadParams = field(default_factory=HeadParams)  # phase 1, on the cached embeddings
    fine_tune_at: int = param(143, Number(int, 0))  # backbone layers before this index stay frozen
    epochs: int = param(3, Number(int, 1))
    batch_size: int = param(64, Number(int, 1))
    optimizer: str = param("adam", OneOf(OPTIMIZERS))
    learning_rate: float = param(0.00001, POSITIVE)
    weight_decay: float = param(0.0, Number(float, 0))
    schedule: str = param("cosine", OneOf(SCHEDULES))
    augment: Augment = field(default_factory=Augment)


@dataclass(frozen=True)
class ScratchOptimization(Optimization):
    """The from-scratch CIFAR recipe: SGD + Nesterov, wd 5e-4, batch 128, lr 0.1, warmup then cosine."""

    epochs: int = param(15, Number(int, 1))
    optimizer: str = param("sgd", OneOf(OPTIMIZERS))
    learning_rate: float = param(0.1, POSITIVE)
    weight_decay: float = param(0.0005, Number(float, 0))
    schedule: str = param("cosine", OneOf(SCHEDULES))
    warmup_epochs: float = param(1.0, Number(float, 0))
    augment: Augment = field(default_factory=Augment)


STRIDES = ListOf(Number(int, 1, 2))


def _check_strides(where: str, prefix: str, strides: list) -> None:
    if len(strides) != 5:
        raise ParamsError(
            f"{where}: {prefix}strides must list 5 strides (stem and the four downsampling stages); got {strides}"
        )


@dataclass(frozen=True)
class MobileNetV1Params(ScratchOptimization):
    alpha: float = param(0.5, POSITIVE)  # width multiplier
    shallow: bool = param(False, Flag())  # drop the five repeated 512-channel blocks
    strides: list = param([1, 1, 2, 2, 2], STRIDES)  # ImageNet: [2, 2, 2, 2, 2]
    dropout: float = param(0.001, UNIT_INTERVAL)

    def check(self, where: str, prefix: str) -> None:
        super().check(where, prefix)
        _check_strides(where, prefix, self.strides)


@dataclass(frozen=True)
class MobileNetV2Params(ScratchOptimization):
    alpha: float = param(0.5, POSITIVE)
    strides: list = param([1, 1, 2, 2, 2], STRIDES)  # stem, then the 24-, 32-, 64- and 160-channel stages
    dropout: float = param(0.2, UNIT_INTERVAL)

    def check(self, where: str, prefix: str) -> None:
        super().check(where, prefix)
        _check_strides(where, prefix, self.strides)


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


@dataclass(frozen=True)
class ModelsParams:
    linear_probe: LinearProbeParams = field(default_factory=LinearProbeParams)
    head: HeadParams = field(default_factory=HeadParams)
    finetune: FinetuneParams = field(default_factory=FinetuneParams)
    mobilenet_v1: MobileNetV1Params = field(default_factory=MobileNetV1Params)
    mobilenet_v2: MobileNetV2Params = field(default_factory=MobileNetV2Params)
    resnext: ResNeXtParams = field(default_factory=ResNeXtParams)


MODELS = tuple(f.name for f in dataclasses.fields(ModelsParams))


@dataclass(frozen=True)
class TrainParams:
    """How stage train runs, whatever the model."""

    mixed_precision: str = param("auto", OneOf(("auto", "float32", "mixed_float16", "mixed_bfloat16")))
    jit_compile: str | bool = param("auto", AutoOrFlag())
    distribution: str = param("auto", OneOf(("auto", "none", "data_parallel")))


@dataclass(frozen=True)
class Params:
    seed: int = param(0, Number(int, 0, 2**31 - 1))
    data: DataParams = field(default_factory=DataParams)
    features: FeaturesParams = field(default_factory=FeaturesParams)
    model: str = param("head", OneOf(MODELS))
    train: TrainParams = field(default_factory=TrainParams)
    models: ModelsParams = field(default_factory=ModelsParams)

    @property
    def recipe(self) -> Any:
        """The ``models.<model>`` section of the selected model."""
        return getattr(self.models, self.model)


# ------------------------------------------------------------------- loading

PARAMS_FILE = "params.yaml"


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in "0123456789abcdefABCDEF" for c in text)


def _build(cls: type, raw: Any, prefix: str, where: str) -> Any:
    if not isinstance(raw, dict):
        shown = prefix.rstrip(".") or "the top level"
        raise ParamsError(f"{where}: {shown} must be a mapping of keys; got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            section = prefix.rstrip(".") or "the top level"
            raise ParamsError(
                f"{where}: unknown key '{prefix}{key}'; allowed keys under {section}: {', '.join(fields)}"
            )
    values = {}
    for name, f in fields.items():
        dotted = prefix + name
        if name not in raw:
            raise ParamsError(f"{where}: missing key '{dotted}' (every knob must be present for `dvc exp run -S`)")
        value = raw[name]
        section_cls = f.default_factory
        if isinstance(section_cls, type) and dataclasses.is_dataclass(section_cls):
            values[name] = _build(section_cls, value, dotted + ".", where)
            continue
        constraint = f.metadata["constraint"]
        if not constraint.ok(value):
            raise ParamsError(f"{where}: {dotted} must be {constraint.describe()}; got {value!r}")
        if isinstance(constraint, Number) and constraint.kind is float:
            value = float(value)
        values[name] = value
    obj = cls(**values)
    check = getattr(obj, "check", None)
    if check is not None:
        check(where, prefix)
    return obj


def parse_params(raw: Any, where: str = "params.yaml") -> Params:
    """Validate a params mapping and return it as frozen dataclasses."""
    return _build(Params, raw, "", where)


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found (run from the project root)") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None
    return parse_params(raw, str(path))


def default_params_dict() -> dict:
    """The defaults as a plain mapping, the shape params.yaml has."""
    return dataclasses.asdict(Params())


def to_dict(params: Any) -> dict:
    return dataclasses.asdict(params)
