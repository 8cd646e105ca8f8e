"""The linear probe: scikit-learn's logistic regression over a sweep of C, the best kept as a Keras model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..data.arrays import read_classes, read_embeddings, read_views
from ..models.linear_probe import probe_as_keras
from ..models.saving import save_model
from .fit import FitResult
from .live import open_live
from .trainers import Run, summary

if TYPE_CHECKING:
    from ..params import Params


def train_linear_probe(
    params: Params, run: Run, split_dir: Path, features_dir: Path, out: Path, checkpoints=None
) -> dict:
    """Multinomial logistic regression on standardized embeddings; C chosen on validation accuracy, then loss."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.preprocessing import StandardScaler

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
    weights = "balanced" if recipe.class_weight == "balanced" else None
    live = open_live(out / "live")
    fits, start = [], time.perf_counter()
    for c in recipe.C:
        clf = LogisticRegression(C=c, max_iter=recipe.max_iter, random_state=params.seed, class_weight=weights)
        clf.fit(z_fit, y_fit)
        scores = {
            "train/accuracy": clf.score(z_train, y_train),
            "train/loss": log_loss(y_train, clf.predict_proba(z_train), labels=classes),
            "val/accuracy": clf.score(z_val, y_val),
            "val/loss": log_loss(y_val, clf.predict_proba(z_val), labels=classes),
            "C": c,
        }
        for name, value in scores.items():
            live.log_metric(name, float(value))
        live.next_step()
        fits.append((scores["val/accuracy"], -scores["val/loss"], clf))
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
    return summary(
        model,
        "linear_probe",
        "embeddings",
        result,
        len(x_train),
        len(x_val),
        precision="float64",
        best_C=recipe.C[best],
    )
