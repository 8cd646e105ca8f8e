"""The linear probe's trainer (models/linear_probe.py): scikit-learn's logistic regression swept over C on the
standardized embeddings, the best kept as an equivalent Keras model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..data.arrays import read_classes, read_embeddings, read_views
from ..models.linear_probe import LinearProbeParams, probe_as_keras
from .fit import FitResult
from .live import open_live
from .saving import save_model
from .trained import Trained
from .trainers import summary

if TYPE_CHECKING:
    from .job import TrainingJob

# An embedding dimension that varies less than this share of the median dimension's std (a ReLU unit of a random
# backbone alive on a few pictures) is standardized by this floor instead of its own std: dividing by its std
# amplified float32 rounding (TFLite's kernels against Keras's) 1e5-fold into the logits
MIN_RELATIVE_SCALE = 1e-3


def fitted_scaler(x: np.ndarray):
    """scikit-learn's StandardScaler on ``x``, its scales floored at MIN_RELATIVE_SCALE of their median."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scaler.scale_ = np.maximum(scaler.scale_, MIN_RELATIVE_SCALE * np.median(scaler.scale_))
    return scaler


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


def train(job: TrainingJob, split_dir: Path, features_dir: Path, out: Path, checkpoints=None) -> Trained:
    """Multinomial logistic regression on standardized embeddings; C chosen on validation accuracy, then loss."""
    recipe = job.recipe
    classes = np.arange(len(read_classes(split_dir)))
    x_train, y_train = read_embeddings(features_dir, split_dir, "train")
    x_val, y_val = read_embeddings(features_dir, split_dir, "val")
    views = read_views(features_dir, x_train.shape)
    if views is not None:  # every cached view is one more training sample
        x_fit = np.concatenate([x_train, np.asarray(views, np.float32).reshape(-1, x_train.shape[1])])
        y_fit = np.tile(y_train, len(views) + 1)
    else:
        x_fit, y_fit = x_train, y_train
    scaler = fitted_scaler(x_fit)
    z_fit, z_train, z_val = scaler.transform(x_fit), scaler.transform(x_train), scaler.transform(x_val)
    live = open_live(out / "live")
    start = time.perf_counter()
    fits = sweep_c(recipe, job.seed, (z_fit, y_fit), (z_train, y_train), (z_val, y_val), classes, live)
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
