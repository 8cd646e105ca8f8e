"""How the params tree is written on disk: params.yaml, and one ``recipes/<model>.yaml`` per model.

params.yaml holds the stages' sections, ``model`` and ``recipe``: the defaults every Keras-trained model's
recipe starts from (``models.recipe.SharedRecipe``), written once. A model's file lists its own knobs and
the recipe keys it changes, nothing else; the train stage declares params.yaml's ``recipe`` and the selected
model's file, so a run's ``dvc exp show`` lists the params of that run (about 70) and not every model's.

In memory the tree is what it always was: ``models.<name>`` is the model's whole section, its file laid over
the shared recipe (``inherited``); ``split`` turns it back into the files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .models.recipe import Augment, Optimization

RECIPES_DIR = "recipes"
SHARED = "recipe"  # params.yaml's block


def _section_class(f: dataclasses.Field):
    factory = f.default_factory
    return factory if isinstance(factory, type) and dataclasses.is_dataclass(factory) else None


def _shared_for(cls: type, shared: dict) -> dict:
    """The part of the shared recipe a section of class ``cls`` inherits: all of it for a recipe (a model's, or
    fine-tuning's head), its ``augment`` for augmentation, nothing otherwise."""
    if issubclass(cls, Augment):
        return shared.get("augment", {})
    return shared if issubclass(cls, Optimization) else {}


def inherited(cls: type, shared: dict, own: dict) -> dict:
    """A model's whole section: its own keys, and for the rest of its recipe the shared one. Keys ``cls`` does
    not have are kept, so that validation names them."""
    mine = _shared_for(cls, shared) if cls is not None else {}
    merged = dict(own)
    for f in dataclasses.fields(cls):
        sub = _section_class(f)
        if sub is not None:
            merged[f.name] = inherited(sub, shared, own.get(f.name, {}) if isinstance(own.get(f.name), dict) else {})
            if f.name in own and not isinstance(own[f.name], dict):
                merged[f.name] = own[f.name]  # not a mapping: validation says so
        elif f.name not in own and f.name in mine:
            merged[f.name] = mine[f.name]
    return merged


def own_keys(cls: type, shared: dict, section: dict) -> dict:
    """The inverse of ``inherited``: the keys of a whole ``section`` a model's file must list."""
    mine = _shared_for(cls, shared)
    own = {}
    for f in dataclasses.fields(cls):
        value, sub = section[f.name], _section_class(f)
        if sub is not None:
            nested = own_keys(sub, shared, value)
            if nested:
                own[f.name] = nested
        elif f.name not in mine or mine[f.name] != value:
            own[f.name] = value
    return own


def recipe_file(root: Path, model: str) -> Path:
    return Path(root) / RECIPES_DIR / f"{model}.yaml"


def merged_tree(raw: dict, files: dict[str, Any], classes: dict[str, type]) -> dict:
    """params.yaml's mapping with ``models`` made from each model's file (``files``: name -> its mapping)."""
    shared = raw.get(SHARED, {}) if isinstance(raw.get(SHARED), dict) else {}
    models = {name: inherited(cls, shared, files.get(name) or {}) for name, cls in classes.items()}
    return {**raw, "models": models}


def split(tree: dict, classes: dict[str, type]) -> tuple[dict, dict[str, dict]]:
    """(params.yaml's mapping, {model: its file's mapping}) for an in-memory tree."""
    shared = tree[SHARED]
    files = {name: own_keys(cls, shared, tree["models"][name]) for name, cls in classes.items()}
    return {k: v for k, v in tree.items() if k != "models"}, files
