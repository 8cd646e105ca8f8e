"""Saving trained models for inference: no optimizer, no compile configuration, the same bytes for the same weights.

A mixed-precision run (``train.mixed_precision``) computes in bfloat16 or
float16 while it trains, but the saved model computes in float32 with the
same weights, so what evaluate scores is what export writes and ``imgclf
predict`` runs, on CPUs with bfloat16 units and without.

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


def _float32_policies(config):
    """``config`` with every mixed dtype policy (mixed_bfloat16, mixed_float16) made float32."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and str(config["config"].get("name", "")).startswith("mixed_"):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _float32_policies(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_policies(value) for value in config]
    return config


def in_float32(model: keras.Model) -> keras.Model:
    """``model`` rebuilt to compute in float32, with its weights (float32 variables under every policy)."""
    config = keras.saving.serialize_keras_object(model)
    float32 = _float32_policies(config)
    if float32 == config:
        return model
    copy = keras.saving.deserialize_keras_object(float32)
    copy.set_weights(model.get_weights())
    return copy


def save_model(model: keras.Model, path: Path) -> None:
    """The architecture and weights, byte-reproducible so the same weights give the same DVC hash.

    An uncompiled view saves no optimizer state (half the file for Adam); the epoch
    checkpoints keep that instead.
    """
    with atomic_file(path) as tmp:
        in_float32(inference_view(model)).save(tmp)
        normalize_keras_archive(tmp)
