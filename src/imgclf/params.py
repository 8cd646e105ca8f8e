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
from .models.recipe import SharedRecipe
from .models.registry import MODELS as REGISTRY
from .params_layout import SHARED, merged_tree, recipe_file, split
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
    recipe: SharedRecipe = field(default_factory=SharedRecipe)  # every model's recipe starts from it
    models: Any = field(default_factory=ModelsParams)  # each laid over ``recipe`` from its recipes/<name>.yaml
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    export: ExportParams = field(default_factory=ExportParams)

    @property
    def model_recipe(self) -> Any:
        """The selected model's whole section: its recipes/<model>.yaml over the shared ``recipe``."""
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
        from .training.cluster_layout import cluster_from

        backend = resolve_backend(self.train.backend, cluster=cluster_from() is not None)
        if backend == "torch":
            sams = [(f"models.{self.model}", self.model_recipe), ("models.finetune.head", finetune.head)]
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


def _read(path: Path, missing_ok: bool = False):
    try:
        return read_yaml(path.read_text())
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise ParamsError(f"{path}: file not found (run from the project root)") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None


def read_tree(path: str | Path = PARAMS_FILE) -> tuple[dict, dict[str, dict]]:
    """(params.yaml's mapping, {model: its recipes/<model>.yaml mapping}) as they are on disk."""
    path = Path(path)
    raw = _read(path)
    files = {name: _read(recipe_file(path.parent, name), missing_ok=True) for name in REGISTRY}
    return raw, files


def parse_tree(raw: dict, files: dict[str, dict], where: str = PARAMS_FILE) -> Params:
    """params.yaml's mapping and the models' files, validated: the shared recipe first (its errors name
    params.yaml), then each model's section (named by its file), then the whole."""
    if isinstance(raw, dict) and isinstance(raw.get(SHARED), dict):
        build_section(SharedRecipe, raw[SHARED], f"{SHARED}.", where)
        tree = merged_tree(raw, files, {name: spec.params for name, spec in REGISTRY.items()})
        folder = Path(where).parent
        for name, spec in REGISTRY.items():
            if not isinstance(files.get(name) or {}, dict):
                raise ParamsError(f"{recipe_file(folder, name)}: must be a mapping of keys; got {files[name]!r}")
            build_section(spec.params, tree["models"][name], "", str(recipe_file(folder, name)))
        raw = tree
    return parse_params(raw, where)


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    return parse_tree(*read_tree(path), str(path))


def write_tree(root: str | Path, tree: dict) -> None:
    """An in-memory params tree (``default_params_dict``'s shape) as params.yaml and recipes/<model>.yaml."""
    from .io import write_text

    params, files = split(tree, {name: spec.params for name, spec in REGISTRY.items()})
    write_text(Path(root) / PARAMS_FILE, yaml.safe_dump(params, sort_keys=False))
    for name, own in files.items():
        write_text(recipe_file(root, name), yaml.safe_dump(own, sort_keys=False) if own else "{}\n")


def default_params_dict() -> dict:
    """The defaults as a plain mapping, the shape params.yaml has."""
    return dataclasses.asdict(Params())


def to_dict(params: Any) -> dict:
    return dataclasses.asdict(params)
