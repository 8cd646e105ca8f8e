"""The linear-probe baseline: multinomial logistic regression on standardized embeddings (scikit-learn),
trained its own way and kept as an equivalent Keras model, so it is evaluated and exported like every other model."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..constraints import POSITIVE, ListOf, Number, OneOf, param
from ..training.recipe import CLASS_WEIGHTS
from ..training.spec import ModelSpec

if TYPE_CHECKING:
    import keras

    from ..params import Params
    from ..training.spec import Trained
    from ..training.trainers import Run


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


def sweep_c(recipe: LinearProbeParams, seed: int, fit, train, val, classes: np.ndarray, live) -> list[tuple]:
    """One logistic regression per C, each logged as a dvclive step: [(val accuracy, -val loss, classifier)]."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    weights = "balanced" if recipe.class_weight == "balanced" else None
    fits = []
    for c in recipe.C:
        clf = LogisticRegression(C=c, max_iter=recipe.max_iter, random_state=seed, class_weight=weights).fit(*fit)
        scores = {}
        for part, (x, y) in (("train", train), ("val", val)):
            scores[f"{part}/accuracy"] = clf.score(x, y)
            scores[f"{part}/loss"] = log_loss(y, clf.predict_proba(x), labels=classes)
        for name, value in {**scores, "C": c}.items():
            live.log_metric(name, float(value))
        live.next_step()
        fits.append((scores["val/accuracy"], -scores["val/loss"], clf))
    return fits


def train(params: Params, run: Run, split_dir: Path, features_dir: Path, out: Path, checkpoints=None) -> Trained:
    """Multinomial logistic regression on standardized embeddings; C chosen on validation accuracy, then loss."""
    from sklearn.preprocessing import StandardScaler

    from ..data.arrays import read_classes, read_embeddings, read_views
    from ..training.fit import FitResult
    from ..training.live import open_live
    from ..training.saving import save_model
    from ..training.spec import Trained
    from ..training.trainers import summary

    recipe = params.models.linear_probe
    classes = np.arange(len(read_classes(split_dir)))
    x_train, y_train = read_embeddings(features_dir, split_dir, "train")
    x_val, y_val = read_embeddings(features_dir, split_dir, "val")
    views = read_views(features_dir, x_train.shape)
    if views is not None:  # every cached view is one more training sample
        x_fit = np.concatenate([x_train, np.asarray(views, np.float32).reshape(-1, x_train.shape[1])])
        y_fit = np.tile(y_train, len(views) + 1)
    else:
        x_fit, y_fit = x_train, y_train
    scaler = StandardScaler().fit(x_fit)
    z_fit, z_train, z_val = scaler.transform(x_fit), scaler.transform(x_train), scaler.transform(x_val)
    live = open_live(out / "live")
    start = time.perf_counter()
    fits = sweep_c(recipe, params.seed, (z_fit, y_fit), (z_train, y_train), (z_val, y_val), classes, live)
    seconds = time.perf_counter() - start
    live.end()
    best = max(range(len(fits)), key=lambda i: fits[i][:2])  # best validation accuracy, then lower loss
    clf = fits[best][2]
    model = probe_as_keras(scaler.mean_, scaler.scale_, clf.coef_, clf.intercept_)
    save_model(model, out / "model.keras")
    result = FitResult(
        epochs_run=len(fits),
        best_epoch=best + 1,
        best_val_accuracy=float(fits[best][0]),
        seconds=round(seconds, 3),
        images_per_second=round(len(x_fit) * len(fits) / seconds, 1),
    )
    report = summary(
        model,
        "linear_probe",
        "embeddings",
        result,
        len(x_train),
        len(x_val),
        precision="float64",
        best_C=recipe.C[best],
    )
    return Trained(report, result.timing())


SPEC = ModelSpec(LinearProbeParams, "embeddings", train=train, small={"C": [0.1]})
