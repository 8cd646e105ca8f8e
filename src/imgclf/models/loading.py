"""Loading trained models: the one place that knows every custom Keras object of the zoo.

Every loader of a ``.keras`` file (evaluate, export, ``imgclf predict``) goes
through ``load_model``, which imports each registered custom layer first, so a
model loads in a process that never built one. Saved models carry no optimizer
or compile configuration (``training.saving``), so nothing of training is needed here.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras

from ..errors import DataError
from ..features.preprocessing import ImageNetPreprocess
from .layers import GroupedConv2D, Mirror, RandomShift, StackViews, WeighViews

# Every class the project registers with keras.saving.register_keras_serializable; tests/test_layout.py
# checks that none is missing.
CUSTOM_OBJECTS = (ImageNetPreprocess, GroupedConv2D, Mirror, RandomShift, StackViews, WeighViews)


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
