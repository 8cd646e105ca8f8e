"""The linear-probe baseline: multinomial logistic regression on standardized embeddings (scikit-learn),
trained its own way (training/linear_probe.py) and kept as an equivalent Keras model, so it is evaluated and exported like every other model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..constraints import POSITIVE, ListOf, Number, OneOf, param
from .recipe import CLASS_WEIGHTS
from .spec import ModelSpec

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class LinearProbeParams:
    C: list = param([0.01, 0.1, 1.0], ListOf(POSITIVE))  # inverse L2 strength; best on validation is kept
    max_iter: int = param(1000, Number(int, 1))
    class_weight: str = param("none", OneOf(CLASS_WEIGHTS))  # LogisticRegression(class_weight="balanced")


def probe_as_keras(mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> keras.Model:
    """A fitted StandardScaler + LogisticRegression as one Keras Dense layer with the same logits.

    ((x - mean) / scale) @ coef.T + intercept = x @ (coef / scale).T + (intercept - coef @ (mean / scale)):
    the standardization folds into the weights, so the exported probe is a single matrix product.
    With two classes scikit-learn fits one logit z for class 1; the model returns (0, z), whose softmax
    is (1 - sigmoid(z), sigmoid(z)), scikit-learn's probabilities, so every model has one logit per class.
    """
    import keras

    if coef.shape[0] == 1:
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    dim, classes = coef.shape[1], coef.shape[0]
    kernel = (coef / scale).T  # computed in float64, rounded once
    bias = intercept - coef @ (mean / scale)
    inputs = keras.Input((dim,), name="embedding")
    dense = keras.layers.Dense(classes, name="logits")
    outputs = dense(inputs)
    dense.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return keras.Model(inputs, outputs, name="linear_probe")


SPEC = ModelSpec(LinearProbeParams, "embeddings", trainer="linear_probe", small={"C": [0.1]})
