"""A learning-rate range test (Smith 2017; fastai's ``lr_find``), which ``imgclf plan --lr-find`` runs and reports.

It trains a few hundred steps under an exponentially rising rate and suggests a tenth of the rate at the lowest
smoothed loss, a usual starting point, or nothing where the loss never fell (on a few pictures it is noise).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

START_STEPS = 10  # of 200 steps, the rate stays below 2.1e-6: the loss of the model as it was built
MIN_FALL = 0.1  # a fall of a tenth of the loss: beyond what its noise gives a smoothed loss


def lr_find(model, batches, recipe, steps: int = 200, low: float = 1e-6, high: float = 10.0) -> dict:
    """Losses under a learning rate rising from ``low`` to ``high`` (exponentially, one step each); the
    suggestion is a tenth of the rate at the lowest smoothed loss (Smith 2017; fastai's lr_find).

    The lowest is looked for after the first ``START_STEPS``, where the rate is too low to change the model
    and their mean is the loss at the start. Where the lowest is not ``MIN_FALL`` below that, the test is
    inconclusive and suggests nothing: on a few pictures, the loss is noise and its lowest lands anywhere."""
    import keras

    from ..training.optim import make_optimizer

    # "plateau" gives the optimizer a plain rate (a variable its callbacks set), which this loop sets instead.
    optimizer = make_optimizer(dataclasses.replace(recipe, schedule="plateau", warmup_epochs=0.0, ema=0.0), 1)
    model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    rates, raw, losses, average = np.geomspace(low, high, steps), [], [], 0.0
    for i, rate in enumerate(rates):
        model.optimizer.learning_rate.assign(rate)
        raw.append(float(model.train_on_batch(*batches[i % len(batches)][:2])))
        average = 0.9 * average + 0.1 * raw[-1]
        losses.append(average / (1 - 0.9 ** (i + 1)))  # debiased: the first loss weighs no more than the rest
        if not math.isfinite(raw[-1]) or losses[-1] > 4 * min(losses):
            break
    start = float(np.mean(raw[:START_STEPS]))
    after = np.asarray(losses[START_STEPS:])
    best = START_STEPS + int(np.nanargmin(after)) if np.isfinite(after).any() else 0
    fell = best > 0 and losses[best] < (1 - MIN_FALL) * start
    return {
        "suggested_learning_rate": float(rates[best] / 10) if fell else None,
        "lowest_loss_at": float(rates[best]),
        "start_loss": start,
        "lowest_loss": float(losses[best]),
        "highest_rate": float(rates[len(losses) - 1]),
        "steps": len(losses),
    }


def report(found: dict, setting: str) -> str:
    """The one line ``imgclf plan`` prints: the suggested learning rate as the ``-S`` that sets it (``setting``
    is what goes before ``learning_rate=``, e.g. ``recipes/head.yaml:++``), or why there is none."""
    head = f"plan: learning-rate range test over {found['steps']} steps"
    if found["suggested_learning_rate"] is None:
        return (
            f"{head}: inconclusive, the smoothed loss never fell {MIN_FALL:.0%} below its start ({found['start_loss']:.3g}; "
            f"lowest {found['lowest_loss']:.3g}) at rates up to {found['highest_rate']:.2g}; keep the recipe's rate "
            "(on a few pictures the loss is mostly noise)"
        )
    return f"{head}: lowest loss at {found['lowest_loss_at']:.2g}; try -S {setting}learning_rate={found['suggested_learning_rate']:.2g}"
