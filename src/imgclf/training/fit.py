"""Fitting any Keras classifier from its recipe: compile, resume, callbacks, the result.

``fit_classifier`` is the one entry point; the helpers below are its steps.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np

from .. import progress
from ..errors import PipelineError
from ..io import copy_tree
from ..runtime import interrupts_deferred, raise_if_interrupted
from . import tf_workers
from .batches import ProcessRows
from .fitted import fitted_warmup
from .live import LiveLogger, open_live
from .lookahead import Lookahead
from .optim import add_weight_decay, make_optimizer, schedule_callbacks
from .resume import Checkpoint, EpochCheckpointer, open_checkpoint

if TYPE_CHECKING:
    from ..models.recipe import Optimization
    from .batches import Batches


class TrainingError(PipelineError):
    """Training cannot go on (a diverged loss)."""


class EpochOrder(keras.callbacks.Callback):
    """Tells the training batches which epoch is starting, so their order is a function of it."""

    def __init__(self, batches: Batches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.set_epoch(epoch)


class StopOnInterrupt(keras.callbacks.Callback):
    """Raises a Ctrl-C that reached the process at the next batch: in ``fit`` it is only remembered
    (``runtime.interrupts_deferred``), and Python may have dropped a raise before (``interrupts_remembered``)."""

    def on_train_batch_end(self, batch, logs=None):
        raise_if_interrupted()

    def on_test_batch_end(self, batch, logs=None):
        raise_if_interrupted()

    def on_epoch_end(self, epoch, logs=None):
        raise_if_interrupted()


class EpochTimer(keras.callbacks.Callback):
    """Seconds of each epoch: on its training batches (validation excluded: the throughput) and in all
    (validation included: what accuracy against time is plotted with)."""

    def __init__(self):
        super().__init__()
        self.train_seconds: list[float] = []
        self.wall_seconds: list[float] = []
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
        self.wall_seconds.append(time.perf_counter() - self._start)

    def resumable_state(self) -> dict:
        return {"train_seconds": self.train_seconds, "wall_seconds": self.wall_seconds}

    def restore_state(self, state: dict) -> None:
        self.train_seconds = list(state["train_seconds"])
        self.wall_seconds = list(state.get("wall_seconds", []))


@dataclass
class FitResult:
    epochs_run: int
    best_epoch: int
    best_val_accuracy: float
    seconds: float
    epoch_seconds: list[float] = field(default_factory=list)
    images_per_second: float = 0.0
    curve: list[dict] = field(default_factory=list)  # per epoch: minutes since the fit began, val accuracy

    TIMING = ("seconds", "epoch_seconds", "images_per_second", "curve")

    def outcome(self) -> dict:
        """What the run reached: a function of params, data and seed, fit for a DVC-hashed output."""
        return {k: v for k, v in vars(self).items() if k not in self.TIMING}

    def timing(self) -> dict:
        """How long it took: varies run to run, so it is kept out of hashed outputs."""
        return {k: getattr(self, k) for k in self.TIMING}


@dataclass
class StartPoint:
    """Where a fit begins: epoch 0, or after the last epoch of a checkpoint."""

    epoch: int = 0
    history: dict = field(default_factory=dict)  # metric -> values of the epochs already run
    seconds: float = 0.0
    resumed: bool = False


def compile_for(model: keras.Model, recipe: Optimization, jit_compile: bool, steps_per_epoch: int) -> keras.Model:
    """Weight decay, the optimizer and schedule, SAM when asked: the model ``fit`` is called on. ``jit_compile``
    is the job's resolved one (``runtime.resolve_jit``)."""
    from .sam import sharpness_aware

    add_weight_decay(model, recipe)
    trainer = sharpness_aware(model, recipe.sam_rho) if recipe.sam_rho else model
    trainer.compile(
        optimizer=make_optimizer(recipe, steps_per_epoch, model),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=recipe.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
    )
    return trainer


def resume_point(
    checkpoint: Checkpoint | None, trainer: keras.Model, live_dir: Path, epochs: int, key: str
) -> StartPoint:
    """Restore the checkpoint's variables and dvclive log into ``trainer`` and ``live_dir``, if there is one."""
    state = checkpoint.state if checkpoint else None
    if not state:
        return StartPoint()
    checkpoint.restore(trainer)
    copy_tree(checkpoint.live, live_dir)  # as at the checkpoint: it may have logged one epoch more
    epoch = state["epoch"]
    start = StartPoint(epoch, state["history"], state["seconds"], resumed=True)
    if state["callbacks"]["best"]["stopped_epoch"]:
        start.epoch = epochs  # early stopping had already ended the run
    print(f"resuming {key} after epoch {epoch} from {checkpoint.folder}", flush=True)
    return start


def result_of(history: dict, seconds: float, timer: EpochTimer, num_images: int, key: str) -> FitResult:
    """The best validation epoch and the steady throughput; a TrainingError when the loss diverged."""
    losses = history.get("loss", [])
    if not np.all(np.isfinite(losses)):
        raise TrainingError(
            f"training diverged: the loss became {losses[-1]} in epoch {len(losses)}; "
            f"lower {key}.learning_rate or raise {key}.warmup_epochs"
        )
    val_acc = history["val_accuracy"]
    best_epoch = int(np.argmax(val_acc))
    steady = timer.train_seconds[1:] or timer.train_seconds  # the first epoch pays for tracing
    minutes = np.cumsum(timer.wall_seconds) / 60
    curve = [
        {"epoch": i + 1, "minutes": round(float(m), 3), "val_accuracy": float(a)}
        for i, (m, a) in enumerate(zip(minutes, val_acc))
    ]
    return FitResult(
        epochs_run=len(val_acc),
        best_epoch=best_epoch + 1,
        best_val_accuracy=float(val_acc[best_epoch]),
        seconds=round(seconds, 3),
        epoch_seconds=[round(s, 3) for s in timer.train_seconds],
        images_per_second=round(num_images / statistics.median(steady), 1),
        curve=curve,
    )


def callback_chain(train, recipe, live, live_dir: Path, checkpoint, start: StartPoint, extra: tuple):
    """(callbacks in order, the epoch timer, the best-epoch keeper, the checkpointer or None)."""
    timer = EpochTimer()
    best = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", mode="max", patience=recipe.patience or recipe.epochs, restore_best_weights=True
    )
    steering = schedule_callbacks(recipe)
    # Lookahead sets the weights after an epoch's last step: validation and the callbacks after it see them
    averaging = [Lookahead(recipe.epochs * len(train))] if getattr(recipe, "lookahead", False) else []
    chain = [StopOnInterrupt(), EpochOrder(train), keras.callbacks.TerminateOnNaN(), *averaging, timer, best]
    chain += steering
    chain += [LiveLogger(live), *extra]
    checkpointer = None
    if checkpoint is not None:  # last: it saves what the others have done with the epoch
        named = {"timer": timer, "best": best, **{f"schedule_{i}": cb for i, cb in enumerate(steering)}}
        checkpointer = EpochCheckpointer(checkpoint, named, best, live_dir, start.history, start.seconds)
        chain.append(checkpointer)
    return chain, timer, best, checkpointer


def fed(train: Batches, val: Batches, model: keras.Model) -> tuple[tuple, contextlib.AbstractContextManager]:
    """(what ``fit`` reads for training and validation, the context it runs in): the batches themselves, or on
    several TensorFlow workers each one's dataset for its replica, with BatchNormalization over the global batch."""
    if not tf_workers.joined():
        return (train, val), contextlib.nullcontext()
    from .keras_internals import fit_on_tensorflow_workers

    fit_on_tensorflow_workers()
    return (tf_workers.distributed(train), tf_workers.distributed(val)), tf_workers.synchronized_batchnorm(model)


def fit_classifier(
    model: keras.Model,
    recipe: Optimization,
    jit_compile: bool,
    train: Batches,
    val: Batches,
    live_dir: Path,
    key: str,
    checkpoint_dir: Path | None = None,
    callbacks: tuple = (),
    process: tuple[int, int] = (0, 1),
) -> FitResult:
    """Compile ``model`` from its recipe, fit it on ``train`` batches, keep its best validation epoch.

    Per-epoch metrics go to dvclive in ``live_dir``. ``recipe.patience`` 0 trains
    every epoch; either way the weights of the epoch with the best validation
    accuracy are restored at the end. ``key`` names the recipe in messages. With
    ``checkpoint_dir``, every epoch is checkpointed there and a later call with
    the same folder continues after the last saved epoch (see ``resume``).
    ``process`` (index, count): one of several processes training the model
    together (``training.cluster``): each feeds its rows of every batch, and
    process 0 keeps the checkpoints.
    """
    recipe = fitted_warmup(recipe, key)
    if process[1] > 1:
        train, val = (ProcessRows(batches, *process) for batches in (train, val))
    trainer = compile_for(model, recipe, jit_compile, len(train))
    checkpoint = open_checkpoint(checkpoint_dir, process)
    if checkpoint and checkpoint.state and checkpoint.state.get("finished"):
        checkpoint.restore(trainer)  # the saved variables are the best epoch's
        copy_tree(checkpoint.live, live_dir)
        return FitResult(**checkpoint.state["result"])
    start = resume_point(checkpoint, trainer, live_dir, recipe.epochs, key)
    live = open_live(live_dir, resume=start.resumed)
    live.step = start.epoch if start.resumed else 0  # dvclive's own resume miscounts after a single step
    chain, timer, best, checkpointer = callback_chain(train, recipe, live, live_dir, checkpoint, start, callbacks)
    data, workers = fed(train, val, model)
    clock = time.perf_counter()
    with interrupts_deferred(), workers:  # Ctrl-C raised by StopOnInterrupt between batches, not inside a step
        fitted = trainer.fit(
            data[0],
            validation_data=data[1],
            epochs=recipe.epochs,
            initial_epoch=start.epoch,
            shuffle=False,  # the batches shuffle themselves, by (seed, epoch)
            callbacks=chain,
            verbose=2 if progress.enabled() else 0,  # one line per epoch
        )
    live.end()
    if checkpointer is not None:
        history, seconds = checkpointer.history, checkpointer.elapsed()
    else:
        history, seconds = fitted.history, time.perf_counter() - clock
    result = result_of(history, seconds, timer, train.num_images, key)
    if checkpoint is not None:
        checkpoint.save(trainer, best, live_dir, {**checkpoint.state, "finished": True, "result": vars(result)})
    return result
