"""Training control shared by every Keras model: precision, compile, callbacks, timing."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from .errors import PipelineError
from .hardware import accelerators
from .live import LiveLogger, open_live
from .optim import add_weight_decay, make_optimizer, schedule_callbacks


class TrainingError(PipelineError):
    """Training cannot go on (a diverged loss)."""


def apply_precision(mode: str) -> str:
    """Set the global Keras dtype policy before models are built; ``auto`` = float16 on a GPU, else float32."""
    policy = ("mixed_float16" if accelerators() else "float32") if mode == "auto" else mode
    keras.config.set_dtype_policy(policy)
    return policy


def jit_setting(mode: str):
    """params' auto/true/false to Keras' ``jit_compile`` ("auto" lets Keras choose: XLA on GPU, not on CPU)."""
    return {"auto": "auto", "true": True, "false": False}[mode]


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
    model: keras.Model, recipe, runtime, train, val, live_dir: Path, key: str, callbacks: tuple = ()
) -> FitResult:
    """Compile ``model`` from its recipe, fit it on ``train`` batches, keep its best validation epoch.

    ``train``/``val`` are ``batches.Batches``. Per-epoch metrics go to dvclive in
    ``live_dir``. ``recipe.patience`` 0 trains every epoch; either way the weights
    of the epoch with the best validation accuracy are restored at the end. A loss
    that turns NaN stops training with an error naming the recipe (``key``).
    """
    from .sam import sharpness_aware

    add_weight_decay(model, recipe)
    trainer = sharpness_aware(model, recipe.sam_rho) if recipe.sam_rho else model
    trainer.compile(
        optimizer=make_optimizer(recipe, len(train)),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=recipe.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        jit_compile=jit_setting(runtime.jit_compile),
    )
    timer = EpochTimer()
    best = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", mode="max", patience=recipe.patience or recipe.epochs, restore_best_weights=True
    )
    live = open_live(live_dir)
    start = time.perf_counter()
    history = trainer.fit(
        train,
        validation_data=val,
        epochs=recipe.epochs,
        callbacks=[keras.callbacks.TerminateOnNaN(), timer, best, *schedule_callbacks(recipe), LiveLogger(live), *callbacks],
        verbose=2,
    )
    seconds = time.perf_counter() - start
    live.end()
    losses = history.history.get("loss", [])
    if not np.all(np.isfinite(losses)):
        raise TrainingError(
            f"training diverged: the loss became {losses[-1]} in epoch {len(losses)}; "
            f"lower {key}.learning_rate or raise {key}.warmup_epochs"
        )
    val_acc = history.history["val_accuracy"]
    best_epoch = int(np.argmax(val_acc))
    # The first epoch includes tracing and compilation; steady throughput leaves it out.
    steady = timer.train_seconds[1:] or timer.train_seconds
    return FitResult(
        epochs_run=len(val_acc),
        best_epoch=best_epoch + 1,
        best_val_accuracy=float(val_acc[best_epoch]),
        seconds=round(seconds, 3),
        epoch_seconds=[round(s, 3) for s in timer.train_seconds],
        images_per_second=round(train.num_images / statistics.median(steady), 1),
    )
