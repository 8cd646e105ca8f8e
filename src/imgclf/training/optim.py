"""Optimizers, learning-rate schedules and weight decay from a recipe (``params.Optimization``)."""

from __future__ import annotations

import math

import keras
from keras import ops


class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to ``peak`` over ``warmup_steps``, then constant, cosine or step decay.

    ``cosine`` decays to 0 at ``total_steps`` (Loshchilov & Hutter 2017); ``step``
    multiplies by ``decay_factor`` at each of ``boundaries`` (absolute steps).
    """

    def __init__(self, peak, warmup_steps, total_steps, kind="constant", boundaries=(), decay_factor=0.1):
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.kind = kind
        self.boundaries = [int(b) for b in boundaries]
        self.decay_factor = float(decay_factor)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = max(self.warmup_steps, 1)
        if self.kind == "cosine":
            span = max(self.total_steps - self.warmup_steps, 1)
            progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
            after = 0.5 * self.peak * (1.0 + ops.cos(math.pi * progress))
        elif self.kind == "step":
            passed = sum(ops.cast(step >= b, "float32") for b in self.boundaries) if self.boundaries else 0.0
            after = self.peak * ops.power(self.decay_factor, passed)
        else:
            after = ops.convert_to_tensor(self.peak, "float32")
        if self.warmup_steps == 0:
            return after
        return ops.where(step < self.warmup_steps, self.peak * (step + 1.0) / warmup, after)

    def get_config(self):
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "kind": self.kind,
            "boundaries": self.boundaries,
            "decay_factor": self.decay_factor,
        }


def learning_rate(recipe, steps_per_epoch: int):
    """A schedule for constant/cosine/step; a plain float for plateau (its callbacks change it)."""
    if recipe.schedule == "plateau":
        return recipe.learning_rate
    return WarmupSchedule(
        recipe.learning_rate,
        warmup_steps=round(recipe.warmup_epochs * steps_per_epoch),
        total_steps=recipe.epochs * steps_per_epoch,
        kind=recipe.schedule,
        boundaries=[round(f * recipe.epochs * steps_per_epoch) for f in recipe.step_at],
        decay_factor=recipe.decay_factor,
    )


def schedule_callbacks(recipe) -> list:
    """Keras callbacks for the plateau schedule: epoch-wise warmup, then reduce on a val-loss plateau."""
    if recipe.schedule != "plateau":
        return []
    callbacks = [
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=recipe.decay_factor, patience=recipe.plateau_patience, verbose=1
        )
    ]
    if recipe.warmup_epochs:
        peak, warmup = recipe.learning_rate, recipe.warmup_epochs

        def warm(epoch, lr):
            return peak * min(1.0, (epoch + 1) / warmup) if epoch < warmup else lr

        callbacks.insert(0, keras.callbacks.LearningRateScheduler(warm))
    return callbacks


def make_optimizer(recipe, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """SGD with Nesterov momentum, Adam or AdamW; AdamW's weight decay is decoupled (see ``add_weight_decay``).

    ``recipe.ema`` > 0 keeps a moving average of the weights (Keras' ``use_ema``) and puts it in the model
    at the end of every epoch, so validation, the best epoch and the saved model are the averaged weights.
    """
    lr = learning_rate(recipe, steps_per_epoch)
    ema = (
        {"use_ema": True, "ema_momentum": recipe.ema, "ema_overwrite_frequency": steps_per_epoch} if recipe.ema else {}
    )
    if recipe.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=recipe.momentum, nesterov=True, **ema)
    if recipe.optimizer == "adam":
        return keras.optimizers.Adam(lr, **ema)
    if recipe.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=recipe.weight_decay, **ema)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}")


def add_weight_decay(model: keras.Model, recipe) -> None:
    """L2 on every trainable kernel, as PyTorch's ``weight_decay`` for SGD and Adam (grad += wd * w).

    The published CIFAR recipes (wd 5e-4 with SGD momentum) mean this coupled form;
    Keras' built-in ``weight_decay`` is decoupled and much weaker under momentum.
    AdamW keeps the decoupled form. Biases and BatchNormalization are not decayed.
    """
    if recipe.optimizer == "adamw" or not recipe.weight_decay:
        return
    regularizer = keras.regularizers.L2(recipe.weight_decay / 2)  # d/dw (wd/2 * w^2) = wd * w
    for variable in model.trainable_weights:
        if len(variable.shape) >= 2:
            variable.regularizer = regularizer
