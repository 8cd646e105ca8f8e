"""Saving trained models for inference: no optimizer, no compile configuration, the same bytes for the same weights.

A model nested in another (fine-tuning's phase-1 head) must be nested as an
uncompiled ``inference_view``: Keras saves a nested compiled model's optimizer,
and then a training-only object (the warmup schedule) would have to be
importable wherever the model is loaded (``models.loading``).
"""

from __future__ import annotations

from pathlib import Path

import keras

from ..io import atomic_file, normalize_keras_archive


def inference_view(model: keras.Model) -> keras.Model:
    """The same layers and weights as an uncompiled functional model (single tensors, not lists of one)."""
    return keras.Model(model.input, model.output, name=model.name)


def save_model(model: keras.Model, path: Path) -> None:
    """The architecture and weights, byte-reproducible so the same weights give the same DVC hash.

    An uncompiled view saves no optimizer state (half the file for Adam); the epoch
    checkpoints keep that instead.
    """
    with atomic_file(path) as tmp:
        inference_view(model).save(tmp)
        normalize_keras_archive(tmp)
