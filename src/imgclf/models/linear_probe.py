"""The linear-probe baseline: multinomial logistic regression on standardized embeddings (scikit-learn),
kept as an equivalent Keras model so it is evaluated and exported like every other model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..constraints import POSITIVE, ListOf, Number, param

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class LinearProbeParams:
    C: list = param([0.01, 0.1, 1.0], ListOf(POSITIVE))  # inverse L2 strength; best on validation is kept
    max_iter: int = param(1000, Number(int, 1))


def probe_as_keras(mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> keras.Model:
    """A fitted StandardScaler + LogisticRegression as a Keras model with the same logits."""
    import keras

    dim, classes = coef.shape[1], coef.shape[0]
    inputs = keras.Input((dim,), name="embedding")
    x = keras.layers.Normalization(mean=mean, variance=np.square(scale), name="standardize")(inputs)
    dense = keras.layers.Dense(classes, name="logits")
    outputs = dense(x)
    dense.set_weights([coef.T.astype(np.float32), intercept.astype(np.float32)])
    return keras.Model(inputs, outputs, name="linear_probe")
