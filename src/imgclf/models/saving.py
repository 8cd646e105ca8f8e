"""Saving and loading trained models: the one place that knows the project's custom Keras objects.

Every loader of a ``.keras`` file (evaluate, export, ``imgclf predict``) goes
through ``load_model``, which imports each registered custom layer first, so a
model loads in a process that never built one. A saved model is for inference:
it carries no optimizer or compile configuration (a training-only object such
as the warmup schedule would otherwise have to be importable wherever the
model is loaded).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras

from ..errors import DataError
from ..features.preprocessing import ImageNetPreprocess
from ..io import atomic_file, normalize_keras_archive
from .layers import GroupedConv2D

# Every class the project registers with keras.saving.register_keras_serializable; tests/test_layout.py
# checks that none is missing.
CUSTOM_OBJECTS = (ImageNetPreprocess, GroupedConv2D)


def inference_view(model: keras.Model) -> keras.Model:
    """The same layers and weights as an uncompiled functional model (single tensors, not lists of one)."""
    return keras.Model(model.input, model.output, name=model.name)


def save_model(model: keras.Model, path: Path) -> None:
    """The architecture and weights, for inference, byte-reproducible so the same weights give the same DVC hash.

    An uncompiled view saves no optimizer state (half the file for Adam); the epoch
    checkpoints keep that instead. A model nested inside ``model`` must be an
    uncompiled view too (``inference_view``): Keras saves a nested model's compile
    configuration with it.
    """
    with atomic_file(path) as tmp:
        inference_view(model).save(tmp)
        normalize_keras_archive(tmp)


def load_model(path: str | Path) -> keras.Model:
    """A saved model for inference; DataError naming the file when it is missing or not a Keras model."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):
        raise DataError(
            f"{path}: not a Keras model file (a .keras file is a zip archive); rerun the stage that wrote it"
        )
    try:
        return keras.models.load_model(path, compile=False)
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot be loaded as a Keras model ({reason[:200]})") from None
