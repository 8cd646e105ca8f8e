"""Training control shared by every Keras model: precision, compile, callbacks, timing."""

from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from . import progress
from .errors import PipelineError
from .hardware import accelerators
from .io import copy_tree
from .live import LiveLogger, open_live
from .optim import add_weight_decay, make_optimizer, schedule_callbacks


class TrainingError(PipelineError):
    """Training cannot go on (a diverged loss)."""


def apply_precision(mode: str) -> str:
    """Set the global Keras dtype policy before models are built; ``auto`` = float16 on a GPU, else float32."""
    policy = ("mixed_float16" if accelerators() else "float32") if mode == "auto" else mode
    keras.config.set_dtype_policy(policy)
    return policy


def jit_setting(mode: str | bool):
    """params' auto/true/false to Keras' ``jit_compile`` ("auto" lets Keras choose: XLA on GPU, not on CPU)."""
    return mode if isinstance(mode, bool) else "auto"


def fitted_warmup(recipe, key: str):
    """The recipe with its warmup cut to half the run when it would not end before the run does.

    A one-epoch smoke run of a recipe with ``warmup_epochs: 1`` would otherwise
    never reach its peak learning rate; saying so beats refusing the run.
    """
    if not recipe.warmup_epochs or recipe.warmup_epochs < recipe.epochs:
        return recipe
    warmup = recipe.epochs / 2
    print(
        f"{key}.warmup_epochs ({recipe.warmup_epochs:g}) does not fit in {recipe.epochs} epoch(s): "
        f"warming up over {warmup:g} epoch(s) instead",
        flush=True,
    )
    return dataclasses.replace(recipe, warmup_epochs=warmup)


class EpochOrder(keras.callbacks.Callback):
    """Tells the training batches which epoch is starting, so their order is a function of it."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.set_epoch(epoch)


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

    def resumable_state(self) -> dict:
        return {"train_seconds": self.train_seconds}

    def restore_state(self, state: dict) -> None:
        self.train_seconds = list(state["train_seconds"])


@dataclass
class FitResult:
    epochs_run: int
    best_epoch: int
    best_val_accuracy: float
    seconds: float
    epoch_seconds: list[float] = field(default_factory=list)
    images_per_second: float = 0.0

    TIMING = ("seconds", "epoch_seconds", "images_per_second")

    def outcome(self) -> dict:
        """What the run reached: a function of params, data and seed, fit for a DVC-hashed output."""
        return {k: v for k, v in vars(self).items() if k not in self.TIMING}

    def timing(self) -> dict:
        """How long it took: varies run to run, so it is kept out of hashed outputs."""
        return {k: getattr(self, k) for k in self.TIMING}


def fit_classifier(
    model: keras.Model,
    recipe,
    runtime,
    train,
    val,
    live_dir: Path,
    key: str,
    checkpoint_dir: Path | None = None,
    callbacks: tuple = (),
) -> FitResult:
    """Compile ``model`` from its recipe, fit it on ``train`` batches, keep its best validation epoch.

    ``train``/``val`` are ``batches.Batches``. Per-epoch metrics go to dvclive in
    ``live_dir``. ``recipe.patience`` 0 trains every epoch; either way the weights
    of the epoch with the best validation accuracy are restored at the end. A loss
    that turns NaN stops training with an error naming the recipe (``key``).
    With ``checkpoint_dir``, every epoch is checkpointed there and a later call
    with the same folder continues after the last saved epoch (see ``resume``).
    """
    from .resume import Checkpoint, EpochCheckpointer
    from .sam import sharpness_aware

    recipe = fitted_warmup(recipe, key)
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
    steering = schedule_callbacks(recipe)
    checkpoint = Checkpoint(checkpoint_dir) if checkpoint_dir is not None else None
    state = checkpoint.state if checkpoint else None
    if state and state.get("finished"):
        checkpoint.restore(trainer)  # the saved variables are the best epoch's
        copy_tree(checkpoint.live, live_dir)
        return FitResult(**state["result"])
    initial_epoch, history, seconds = 0, {}, 0.0
    if state:
        checkpoint.restore(trainer)
        copy_tree(checkpoint.live, live_dir)  # as at the checkpoint: it may have logged one epoch more
        initial_epoch, history, seconds = state["epoch"], state["history"], state["seconds"]
        if state["callbacks"]["best"]["stopped_epoch"]:
            initial_epoch = recipe.epochs  # early stopping had already ended the run
        print(f"resuming {key} after epoch {state['epoch']} from {checkpoint.folder}", flush=True)
    live = open_live(live_dir, resume=bool(state))
    live.step = state["epoch"] if state else 0  # dvclive's own resume miscounts after a single step
    named = {"timer": timer, "best": best, **{f"schedule_{i}": cb for i, cb in enumerate(steering)}}
    chain = [EpochOrder(train), keras.callbacks.TerminateOnNaN(), timer, best, *steering, LiveLogger(live), *callbacks]
    checkpointer = None
    if checkpoint is not None:
        checkpointer = EpochCheckpointer(checkpoint, named, best, live_dir, history, seconds)
        chain.append(checkpointer)
    start = time.perf_counter()
    fitted = trainer.fit(
        train,
        validation_data=val,
        epochs=recipe.epochs,
        initial_epoch=initial_epoch,
        shuffle=False,  # the batches shuffle themselves, by (seed, epoch)
        callbacks=chain,
        verbose=2 if progress.enabled() else 0,  # one line per epoch
    )
    live.end()
    if checkpointer is not None:
        seconds, history = checkpointer.elapsed(), checkpointer.history
    else:
        seconds, history = time.perf_counter() - start, fitted.history
    losses = history.get("loss", [])
    if not np.all(np.isfinite(losses)):
        raise TrainingError(
            f"training diverged: the loss became {losses[-1]} in epoch {len(losses)}; "
            f"lower {key}.learning_rate or raise {key}.warmup_epochs"
        )
    val_acc = history["val_accuracy"]
    best_epoch = int(np.argmax(val_acc))
    # The first epoch includes tracing and compilation; steady throughput leaves it out.
    steady = timer.train_seconds[1:] or timer.train_seconds
    result = FitResult(
        epochs_run=len(val_acc),
        best_epoch=best_epoch + 1,
        best_val_accuracy=float(val_acc[best_epoch]),
        seconds=round(seconds, 3),
        epoch_seconds=[round(s, 3) for s in timer.train_seconds],
        images_per_second=round(train.num_images / statistics.median(steady), 1),
    )
    if checkpoint is not None:
        final = {**checkpoint.state, "finished": True, "result": vars(result)}
        checkpoint.save(trainer, best, live_dir, final)
    return result

