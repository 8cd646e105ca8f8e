"""A dense head on the cached embeddings: standardize, hidden Dense+ReLU layers with dropout, logits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..constraints import UNIT_INTERVAL, ListOf, Number, param
from .recipe import Optimization
from .spec import ModelSpec

if TYPE_CHECKING:
    import keras

    from .spec import BuildContext


@dataclass(frozen=True)
class HeadParams(Optimization):
    hidden_units: list = param([512], ListOf(Number(int, 1)))
    dropout: float = param(0.3, UNIT_INTERVAL)
    patience: int = param(10, Number(int, 0))


def build_head(
    dim: int,
    num_classes: int,
    hidden_units: list[int],
    dropout: float,
    mean: np.ndarray,
    variance: np.ndarray,
    seed: int,
) -> keras.Model:
    """embeddings (N, dim) -> logits (N, num_classes).

    The standardization fitted on the training embeddings is the first layer,
    so the saved model takes raw cached vectors.
    """
    import keras

    inputs = keras.Input((dim,), name="embedding")
    x = keras.layers.Normalization(mean=mean, variance=variance, name="standardize")(inputs)
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dropout(dropout, seed=seed + 2 * i, name=f"dropout_{i}")(x) if dropout else x
        x = keras.layers.Dense(
            units,
            activation="relu",
            kernel_initializer=keras.initializers.HeNormal(seed=seed + 2 * i + 1),
            name=f"hidden_{i}",
        )(x)
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed + 2 * len(hidden_units), name="dropout_out")(x)
    outputs = keras.layers.Dense(  # float32 logits keep the softmax stable under mixed precision
        num_classes, kernel_initializer=keras.initializers.GlorotUniform(seed=seed), dtype="float32", name="logits"
    )(x)
    return keras.Model(inputs, outputs, name="head")


def build(recipe: HeadParams, context: BuildContext) -> keras.Model:
    return build_head(
        context.input_shape[0],
        context.num_classes,
        recipe.hidden_units,
        recipe.dropout,
        context.embedding_mean,
        context.embedding_variance,
        context.seed,
    )


SPEC = ModelSpec(HeadParams, "embeddings", build=build, small={"hidden_units": [32], "epochs": 5})
