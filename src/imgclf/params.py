"""params.yaml as frozen dataclasses, validated whole before any work starts.

Each section is declared with the code that reads it (``data/params.py``,
``features/params.py``, ``training/params.py``, ...; each model's in its own
module, through the registry) and put together here, with the rules that
span sections. Constraints and their messages come from ``constraints``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .constraints import Number, OneOf, build_section, param
from .data.params import DATASETS, DataParams
from .errors import ParamsError
from .evaluation.params import EvaluateParams
from .evaluation.tta import PICTURES_ONLY
from .export.params import ExportParams
from .features.catalog import BACKBONES
from .features.params import FeaturesParams
from .models.registry import MODELS as REGISTRY
from .training.params import TrainParams

PARAMS_FILE = "params.yaml"
__all__ = ["DATASETS", "DataParams", "EvaluateParams", "ExportParams", "FeaturesParams", "Params", "TrainParams"]


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
        from .runtime import resolve_backend
        from .training.cluster import cluster_from

        backend = resolve_backend(self.train.backend, cluster=cluster_from() is not None)
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
