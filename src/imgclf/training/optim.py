"""Optimizers, learning-rate schedules and weight decay from a recipe (``params.Optimization``)."""

from __future__ import annotations

import math

import keras
from keras import ops

from ..models.recipe import WHITENED_STEM

TRIANGLE = (0.2, 0.07)  # airbench94's: warmup from a fifth of the peak, linear decay to 0.07 of it


class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to ``peak`` over ``warmup_steps``, then constant, cosine or step decay.

    ``cosine`` decays to 0 at ``total_steps`` (Loshchilov & Hutter 2017); ``step``
    multiplies by ``decay_factor`` at each of ``boundaries`` (absolute steps);
    ``triangular`` (airbench94's) warms up from ``TRIANGLE[0]`` of the peak and
    decays linearly to ``TRIANGLE[1]`` of it at ``total_steps``.
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
        elif self.kind == "triangular":
            span = max(self.total_steps - self.warmup_steps, 1)
            progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
            after = self.peak * (1.0 - (1.0 - TRIANGLE[1]) * progress)
        elif self.kind == "step":
            passed = sum(ops.cast(step >= b, "float32") for b in self.boundaries) if self.boundaries else 0.0
            after = self.peak * ops.power(self.decay_factor, passed)
        else:
            after = ops.convert_to_tensor(self.peak, "float32")
        if self.warmup_steps == 0:
            return after
        if self.kind == "triangular":
            start = TRIANGLE[0]
            return ops.where(step < self.warmup_steps, self.peak * (start + (1 - start) * step / warmup), after)
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


class ScaledSGD(keras.optimizers.SGD):
    """SGD (Nesterov) whose chosen variables take steps ``scales[path]`` times the rate, and stop for good (momentum
    too) at step ``until[path]``: airbench's faster BatchNormalization shifts, and its whitening bias that trains
    for the first epochs only. Scaling SGD's gradient scales its step, momentum included."""

    def __init__(self, *args, scales: dict | None = None, until: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.scales, self.until = dict(scales or {}), dict(until or {})

    def build(self, variables):
        super().build(variables)
        index = self._get_variable_index  # what update_step is given, on every backend, finds its variable by it
        self._factor = {index(v): self.scales[v.path] for v in variables if v.path in self.scales}
        self._limit = {index(v): self.until[v.path] for v in variables if v.path in self.until}

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        if index in self._factor:
            gradient = gradient * self._factor[index]
        if index in self._limit:
            active = ops.cast(ops.less(self.iterations, self._limit[index]), variable.dtype)
            gradient = gradient * active
            momentum = self.momentums[index]
            momentum.assign(momentum * active)  # nothing left to carry it on
        return super().update_step(gradient, variable, learning_rate)


def is_bias(variable) -> bool:
    """A bias or a BatchNormalization shift: what ``bias_lr_scale`` speeds up."""
    return len(variable.shape) == 1 and variable.path.rsplit("/", 1)[-1] in ("bias", "beta")


def whitened(variable) -> bool:
    return f"{WHITENED_STEM}/" in variable.path


def step_scales(model, recipe, steps_per_epoch: int) -> tuple[dict, dict]:
    """(scales, until) for ``ScaledSGD``: the biases' rate, and the whitening stem frozen (its kernel at once, its
    bias after ``whiten_bias_epochs``)."""
    scale = getattr(recipe, "bias_lr_scale", 1.0)
    scales = {v.path: scale for v in model.trainable_weights if scale != 1.0 and is_bias(v) and not whitened(v)}
    until = {
        v.path: 0 if len(v.shape) > 1 else steps_per_epoch * recipe.whiten_bias_epochs
        for v in model.trainable_weights
        if whitened(v)
    }
    return scales, until


def make_optimizer(recipe, steps_per_epoch: int, model=None) -> keras.optimizers.Optimizer:
    """SGD with Nesterov momentum, Adam or AdamW; AdamW's weight decay is decoupled (see ``add_weight_decay``).

    ``recipe.ema`` > 0 keeps a moving average of the weights (Keras' ``use_ema``) and puts it in the model
    at the end of every epoch, so validation, the best epoch and the saved model are the averaged weights.
    SGD on ``model`` takes its ``step_scales``.
    """
    lr = learning_rate(recipe, steps_per_epoch)
    ema = (
        {"use_ema": True, "ema_momentum": recipe.ema, "ema_overwrite_frequency": steps_per_epoch} if recipe.ema else {}
    )
    if recipe.optimizer == "sgd":
        scales, until = step_scales(model, recipe, steps_per_epoch) if model is not None else ({}, {})
        if scales or until:
            return ScaledSGD(lr, momentum=recipe.momentum, nesterov=True, scales=scales, until=until, **ema)
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
    AdamW keeps the decoupled form. Biases and BatchNormalization are not decayed, but with ``bias_lr_scale``
    (airbench's): then they are, by 1/scale in the gradient, so that their scaled step decays them as much as a
    kernel. A frozen whitening kernel is not decayed.
    """
    if recipe.optimizer == "adamw" or not recipe.weight_decay:
        return
    scale = getattr(recipe, "bias_lr_scale", 1.0)
    for variable in model.trainable_weights:
        if whitened(variable) and len(variable.shape) > 1:
            continue
        if len(variable.shape) >= 2:
            variable.regularizer = keras.regularizers.L2(recipe.weight_decay / 2)  # d/dw (wd/2 * w^2) = wd * w
        elif scale != 1.0 and is_bias(variable):
            factor = 1.0 if whitened(variable) else scale
            variable.regularizer = keras.regularizers.L2(recipe.weight_decay / 2 / factor)
