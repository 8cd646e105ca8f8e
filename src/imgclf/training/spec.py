"""What the train stage needs from a model: the contract every module in ``models/`` fills in as its ``SPEC``.

Plain data, no Keras import: params validation reads the ``params`` sections.
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
class Trained:
    """What a trainer returns: train.json's content (a function of params, data and seed) and the timing
    (seconds, images/s: varies run to run, so the stage writes it outside the DVC-hashed output)."""

    summary: dict
    timing: dict

    def outcome_line(self) -> str:
        """What the run reached, in words: the best epoch's validation accuracy, or for a model fitted without
        epochs (the linear probe's sweep over C), the C chosen."""
        accuracy = f"best val accuracy {self.summary['best_val_accuracy']:.4f}"
        if "best_C" in self.summary:
            return f"{accuracy} at C={self.summary['best_C']:g} (of {self.summary['epochs_run']} tried)"
        return f"{accuracy} at epoch {self.summary['best_epoch']} of {self.summary['epochs_run']}"


@dataclass(frozen=True)
class ModelSpec:
    """One model: its ``models.<name>`` params section, its input, how it is built and, if it is not fitted
    as a Keras model with ``training.fit``, how it is trained; ``small`` is a CPU-second version of its
    recipe (params.yaml keys, nested sections as dicts) that the tests build and train."""

    params: type
    inputs: str  # one of INPUTS
    build: Callable[[Any, BuildContext], Any] | None = None  # recipe, context -> uncompiled keras.Model of logits
    train: Callable[..., Trained] | None = None  # (params, run, split_dir, features_dir, out, checkpoints) -> Trained
    small: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {INPUTS}; got {self.inputs!r}")
        if (self.build is None) == (self.train is None):
            raise ValueError(
                "a model is built (build=) for the generic trainer, or trains itself (train=): one of them"
            )
