"""Every model ``train`` can train, found in this package: each module with a ``SPEC`` is one, named by its file.

Adding a model is one module here (a frozen params dataclass, and a ``SPEC``
saying what it takes as input and how it is built or trained) and its
``models.<name>`` section in params.yaml; params validation, the train stage,
dvc.yaml's ``models.${model}``, the leaderboard and the tests (which build and
train every model at its ``SPEC.small`` size) pick it up from here.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING

from ..training.spec import ModelSpec

if TYPE_CHECKING:
    from ..params import Params
    from ..training.spec import Trained


def declares_spec(path: Path) -> bool:
    """Whether a module assigns ``SPEC`` at its top level; read, not imported, so the zoo's Keras modules
    (layers, loading) stay unimported and params validation stays free of Keras' import time."""
    tree = ast.parse(path.read_text())
    return any(
        isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "SPEC" for t in n.targets) for n in tree.body
    )


def discover() -> dict[str, ModelSpec]:
    """Module name -> SPEC for every module of this package that declares one; models of embeddings first."""
    found = {}
    folder = Path(__file__).parent
    for module in pkgutil.iter_modules([str(folder)]):
        if declares_spec(folder / f"{module.name}.py"):
            spec = importlib.import_module(f"{__package__}.{module.name}").SPEC
            if not isinstance(spec, ModelSpec):
                raise TypeError(f"{__package__}.{module.name}.SPEC must be a training.spec.ModelSpec")
            found[module.name] = spec
    return dict(sorted(found.items(), key=lambda item: (item[1].inputs != "embeddings", item[0])))


MODELS: dict[str, ModelSpec] = discover()


def train(
    params: Params, split_dir: Path, features_dir: Path, out: Path, checkpoints: Path | None = None, policy="float32"
) -> Trained:
    """Train ``params.model`` (see ``training.trainers.train_model``)."""
    from ..training.trainers import train_model

    return train_model(MODELS[params.model], params, split_dir, features_dir, out, checkpoints, policy)
