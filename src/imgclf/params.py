"""params.yaml as frozen dataclasses, validated whole before any work starts.

The stage sections (data, features, train) are declared here; each model's
section comes from the model registry, so adding a model needs no edit here.
Constraints and their messages come from ``constraints``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .constraints import AutoOrFlag, ListOf, Number, OneOf, OrNull, Text, build_section, is_hex, param
from .data.images import RESIZE_MODES
from .errors import ParamsError
from .evaluation.tta import PICTURES_ONLY, TTA_MODES
from .features.catalog import BACKBONES, alpha_problem
from .models.registry import MODELS as REGISTRY

PARAMS_FILE = "params.yaml"
DATASETS = ("digits", "cifar10", "cifar100", "folder")


@dataclass(frozen=True)
class DataParams:
    dataset: str = param("digits", OneOf(DATASETS))
    url: str = param("", Text())
    md5: str = param("", Text())
    label_mode: str = param("fine", OneOf(("fine", "coarse")))
    path: str = param("", Text())
    image_size: int = param(32, Number(int, 8, 1024))
    resize: str = param("center_crop", OneOf(RESIZE_MODES))  # how a non-square picture becomes square
    on_bad_image: str = param("error", OneOf(("error", "skip")))
    duplicates: str = param("keep", OneOf(("keep", "drop_from_train")))  # exact copies of test images in train
    test_fraction: float = param(0.2, Number(float, 0, 1, "neither"))
    val_fraction: float = param(0.1, Number(float, 0, 1, "neither"))
    limit_per_class: int | None = param(None, OrNull(Number(int, 1)))
    test_limit_per_class: int | None = param(None, OrNull(Number(int, 1)))

    def check(self, where: str, prefix: str) -> None:
        if self.dataset == "folder" and not self.path:
            raise ParamsError(f"{where}: data.path must name a directory or archive when data.dataset is 'folder'")
        if self.label_mode == "coarse" and self.dataset != "cifar100":
            raise ParamsError(
                f"{where}: data.label_mode 'coarse' exists only for data.dataset 'cifar100'; got dataset {self.dataset!r}"
            )
        if self.md5 and not is_hex(self.md5, 32):
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
    views: int = param(1, Number(int, 1, 32))  # 1 + augmented views of each training picture cached
    shards: list = param([0], ListOf(Number(int, 0)))  # [0, 1, ..., N-1]: one DVC stage per shard, joined

    def check(self, where: str, prefix: str) -> None:
        if self.backbone not in BACKBONES:
            raise ParamsError(
                f"{where}: features.backbone must be one of {', '.join(sorted(BACKBONES))}; got {self.backbone!r}"
            )
        if problem := alpha_problem(self.backbone, self.weights, self.alpha):
            raise ParamsError(f"{where}: {problem}")
        if not self.weights:
            raise ParamsError(
                f"{where}: features.weights must be 'imagenet', 'none' or a path to a weights file; got ''"
            )
        if self.shards != list(range(len(self.shards))) or not self.shards:
            raise ParamsError(
                f"{where}: features.shards must list the shard indices 0..N-1 in order ([0] for one shard, "
                f"[0, 1] for two; dvc.yaml's foreach runs one stage per item); got {self.shards!r}"
            )


@dataclass(frozen=True)
class TrainParams:
    """How stage train runs, whatever the model."""

    mixed_precision: str = param("auto", OneOf(("auto", "float32", "mixed_float16", "mixed_bfloat16")))
    jit_compile: str | bool = param("auto", AutoOrFlag())
    distribution: str = param("auto", OneOf(("auto", "none", "data_parallel", "multi_process")))
    connect_timeout_s: int = param(300, Number(int, 1))  # multi_process: how long processes wait for each other to join
    peer_timeout_s: int = param(60, Number(int, 5))  # multi_process: a peer silent this long ends every process
    backend: str = param("auto", OneOf(("auto", "tensorflow", "jax", "torch")))  # Keras backend stage train runs on

    def check(self, where: str, prefix: str) -> None:
        from .runtime import missing_backend

        if self.backend != "auto" and (problem := missing_backend(self.backend)):  # before any stage runs
            raise ParamsError(f"{where}: {problem}")


@dataclass(frozen=True)
class EvaluateParams:
    """What stage evaluate shows besides the metrics."""

    gallery_size: int = param(32, Number(int, 1))  # most confident mistakes in metrics/misclassified.png
    # flip: the mean of each test picture and its mirror; flip_translate (models of pictures): and of the pair
    # shifted 1 px each way (airbench's); evaluation/tta.py
    tta: str = param("none", OneOf(TTA_MODES))


@dataclass(frozen=True)
class ExportParams:
    """What stage export writes besides model.keras, and how strictly it checks it."""

    formats: list = param(["saved_model", "tflite"], ListOf(OneOf(("saved_model", "tflite", "onnx"))))
    quantize: str = param("none", OneOf(("none", "float16", "dynamic", "int8")))  # also model_<quantize>.tflite
    calibration_images: int = param(300, Number(int, 1))  # training pictures int8 is calibrated on
    batch_size: int = param(64, Number(int, 1))  # pictures per call when measuring
    min_agreement: float = param(0.999, Number(float, 0, 1))  # float formats' top-1 agreement with Keras
    max_probability_diff: float = param(0.0001, Number(float, 0))  # float formats' largest probability difference
    min_evaluate_agreement: float = param(0.99, Number(float, 0, 1))  # share of test pictures predicted as evaluate did


# One section per registered model, in the registry's order: params.yaml's ``models``.
ModelsParams = dataclasses.make_dataclass(
    "ModelsParams",
    [(name, spec.params, field(default_factory=spec.params)) for name, spec in REGISTRY.items()],
    frozen=True,
)
MODELS = tuple(REGISTRY)


@dataclass(frozen=True)
class Params:
    seed: int = param(0, Number(int, 0, 2**31 - 1))
    data: DataParams = field(default_factory=DataParams)
    features: FeaturesParams = field(default_factory=FeaturesParams)
    model: str = param("head", OneOf(MODELS))
    train: TrainParams = field(default_factory=TrainParams)
    models: Any = field(default_factory=ModelsParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    export: ExportParams = field(default_factory=ExportParams)

    @property
    def recipe(self) -> Any:
        """The ``models.<model>`` section of the selected model."""
        return getattr(self.models, self.model)

    def check(self, where: str, prefix: str) -> None:
        """Rules across sections, so they fail in validate and not after fetch, split and featurize have run."""
        finetune = self.models.finetune
        layers = BACKBONES[self.features.backbone].layers
        if self.model == "finetune" and finetune.fine_tune_at != "auto" and finetune.fine_tune_at >= layers:
            raise ParamsError(
                f"{where}: models.finetune.fine_tune_at must be below the {layers} layers of features.backbone "
                f"{self.features.backbone!r} (or 'auto'); got {finetune.fine_tune_at}"
            )
        if self.evaluate.tta in PICTURES_ONLY and REGISTRY[self.model].inputs != "images":
            pictures = ", ".join(name for name, spec in REGISTRY.items() if spec.inputs == "images")
            raise ParamsError(
                f"{where}: evaluate.tta {self.evaluate.tta!r} needs a model of pictures ({pictures}); "
                f"model {self.model!r} takes the cached embeddings, which have 'flip' but no shifted views"
            )
        backend = self.train.backend if self.train.backend != "auto" else os.environ.get("KERAS_BACKEND", "tensorflow")
        if backend == "torch":
            sams = [(f"models.{self.model}", self.recipe), ("models.finetune.head", finetune.head)]
            for key, recipe in sams[: 2 if self.model == "finetune" else 1]:
                if getattr(recipe, "sam_rho", 0):
                    raise ParamsError(
                        f"{where}: {key}.sam_rho > 0 needs the tensorflow or jax Keras backend; the train stage "
                        "runs on torch (train.backend or KERAS_BACKEND)"
                    )
            if self.train.distribution == "data_parallel":
                raise ParamsError(
                    f"{where}: train.distribution 'data_parallel' needs the tensorflow or jax Keras backend; the "
                    "train stage runs on torch (train.backend or KERAS_BACKEND)"
                )


def parse_params(raw: Any, where: str = PARAMS_FILE) -> Params:
    """Validate a params mapping and return it as frozen dataclasses."""
    return build_section(Params, raw, "", where)


class _Loader(yaml.SafeLoader):
    """YAML as DVC writes it: ``dvc exp run -S lr=0.00001`` stores ``1e-05``, a float in YAML 1.2 (DVC's ruamel)
    but a string in PyYAML's YAML 1.1, which wants a dot and a signed exponent. Such numbers load as floats."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read_yaml(text: str):
    return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader: plain data only


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    path = Path(path)
    try:
        raw = read_yaml(path.read_text())
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
