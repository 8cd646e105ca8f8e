"""What the train stage needs from a model: the contract every module in ``models/`` fills in as its ``SPEC``.

Plain data, no Keras import: params validation reads the ``params`` sections. A model is built (``build``, for
the generic trainer) or trains its own way (``trainer``: the name of its trainer in ``training.dispatch``, so the
registry imports nothing from training).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
    train_images: np.ndarray | None = None  # uint8 training pictures, for initialisations made from the data


@dataclass(frozen=True)
class ModelSpec:
    """One model: its params section (``models.<name>`` in memory, recipes/<name>.yaml on disk), its input, and how it is built (``build``: recipe,
    context -> uncompiled keras.Model of logits) or which trainer trains it (``trainer``); ``small`` is a
    CPU-second version of its recipe (params.yaml keys, nested sections as dicts) that the tests train."""

    params: type
    inputs: str  # one of INPUTS
    build: Callable[[Any, BuildContext], Any] | None = None
    trainer: str | None = None
    small: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {INPUTS}; got {self.inputs!r}")
        if (self.build is None) == (self.trainer is None):
            raise ValueError(
                "a model is built (build=) for the generic trainer, or names its own trainer (trainer=): one of them"
            )
