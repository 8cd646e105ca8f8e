"""One table from model name to its params section, its builder and what it takes as input.

Adding a model is a module with a frozen params dataclass and a ``build(recipe,
context)`` returning an uncompiled ``keras.Model`` of logits, one row here and
its section in params.yaml; the train stage, params validation and dvc.yaml's
``models.${model}`` pick it up from this table. Two models train in a way of
their own (scikit-learn's logistic regression, and fine-tuning in two phases);
their ``trainer`` names it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import finetune, head, linear_probe, mobilenet_v1, mobilenet_v2, resnext

INPUTS = ("embeddings", "images")


@dataclass(frozen=True)
class BuildContext:
    """What a builder needs besides its recipe."""

    input_shape: tuple[int, ...]  # (D,) cached embeddings or (H, W, 3) uint8 images
    num_classes: int
    seed: int
    on_gpu: bool = False
    embedding_mean: np.ndarray | None = None  # standardization of the training embeddings
    embedding_variance: np.ndarray | None = None


@dataclass(frozen=True)
class ModelSpec:
    params: type  # the models.<name> section
    inputs: str  # one of INPUTS
    build: Callable[[Any, BuildContext], Any] | None = None  # recipe, context -> keras.Model of logits
    trainer: str = "keras"  # keras (fit the built model) | linear_probe | finetune


MODELS: dict[str, ModelSpec] = {
    "linear_probe": ModelSpec(linear_probe.LinearProbeParams, "embeddings", trainer="linear_probe"),
    "head": ModelSpec(head.HeadParams, "embeddings", head.build),
    "finetune": ModelSpec(finetune.FinetuneParams, "images", trainer="finetune"),
    "mobilenet_v1": ModelSpec(mobilenet_v1.MobileNetV1Params, "images", mobilenet_v1.build),
    "mobilenet_v2": ModelSpec(mobilenet_v2.MobileNetV2Params, "images", mobilenet_v2.build),
    "resnext": ModelSpec(resnext.ResNeXtParams, "images", resnext.build),
}
