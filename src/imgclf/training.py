"""Training control shared by every Keras model: optimizer, loss, callbacks, timing."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from .live import LiveLogger, open_live


def make_optimizer(name: str, learning_rate, weight_decay: float, momentum: float = 0.9) -> keras.optimizers.Optimizer:
    """SGD (Nesterov momentum), Adam or AdamW; weight decay is decoupled in all three (Keras 3)."""
    decay = weight_decay or None
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum, nesterov=True, weight_decay=decay)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=decay)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}")


def compile_classifier(model: keras.Model, optimizer, label_smoothing: float) -> None:
    """Logits out, one-hot labels in (label smoothing and mixup need one-hot targets)."""
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]


class EpochTimer(keras.callbacks.Callback):
    """Seconds spent on the training batches of each epoch, validation excluded."""

    def __init__(self):
        super().__init__()
        self.train_seconds: list[float] = []
        self._start = 0.0
        self._stopped = False

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._stopped = False

    def on_test_begin(self, logs=None):
        if not self._stopped:  # validation at the end of an epoch
            self.train_seconds.append(time.perf_counter() - self._start)
            self._stopped = True

    def on_epoch_end(self, epoch, logs=None):
        if not self._stopped:
            self.train_seconds.append(time.perf_counter() - self._start)


@dataclass
class FitResult:
    epochs_run: int
    best_epoch: int
    best_val_accuracy: float
    seconds: float
    epoch_seconds: list[float] = field(default_factory=list)
    images_per_second: float = 0.0


def fit_classifier(
    model: keras.Model,
    train: tuple,
    val: tuple,
    *,
    epochs: int,
    batch_size: int,
    patience: int,
    live_dir: Path,
    callbacks: tuple = (),
) -> FitResult:
    """Fit with dvclive logging and keep the weights of the best validation epoch.

    ``train`` and ``val`` are (x, one-hot y) arrays or (dataset, None) pairs.
    ``patience`` 0 trains all epochs; either way the best epoch's weights are restored.
    """
    timer = EpochTimer()
    best = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", mode="max", patience=patience or epochs, restore_best_weights=True
    )
    live = open_live(live_dir)
    start = time.perf_counter()
    x, y = train
    fit_kwargs = {"batch_size": batch_size, "shuffle": True} if y is not None else {}
    history = model.fit(
        x,
        y,
        validation_data=val if val[1] is not None else val[0],
        epochs=epochs,
        callbacks=[timer, best, LiveLogger(live), *callbacks],
        verbose=2,
        **fit_kwargs,
    )
    seconds = time.perf_counter() - start
    live.end()
    val_acc = history.history["val_accuracy"]
    best_epoch = int(np.argmax(val_acc))
    n_train = len(x) if y is not None else x.num_images
    # The first epoch includes tracing and compilation; steady throughput excludes it.
    steady = timer.train_seconds[1:] or timer.train_seconds
    return FitResult(
        epochs_run=len(val_acc),
        best_epoch=best_epoch + 1,
        best_val_accuracy=float(val_acc[best_epoch]),
        seconds=round(seconds, 3),
        epoch_seconds=[round(s, 3) for s in timer.train_seconds],
        images_per_second=round(n_train / statistics.median(steady), 1),
    )
