"""Every model ``train`` can train, found in this package: each module with a ``SPEC`` is one, named by its file.

A leaf: a name maps to its parts (``models.spec.ModelSpec``: params class, input, builder or the name of its
trainer), and nothing here imports from training. Adding a model is one module here (a frozen params
dataclass, and a ``SPEC``) and its ``recipes/<name>.yaml`` (its own knobs, and what it changes in the shared
recipe); params validation, the train stage, dvc.yaml's ``recipes/${model}.yaml``, the leaderboard and the
tests (which build and train every model at its ``SPEC.small`` size) pick it up from here.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

from .spec import ModelSpec


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
                raise TypeError(f"{__package__}.{module.name}.SPEC must be a models.spec.ModelSpec")
            found[module.name] = spec
    return dict(sorted(found.items(), key=lambda item: (item[1].inputs != "embeddings", item[0])))


MODELS: dict[str, ModelSpec] = discover()
