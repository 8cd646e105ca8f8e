"""The recipe fitted to the run it trains: a warmup that ends inside it, a batch that leaves an epoch some steps.

Each says what it changed in one warning line and returns a new recipe; the params stay what they were.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..models.recipe import Optimization


def fitted_warmup(recipe: Optimization, key: str) -> Optimization:
    """The recipe with its warmup cut to half the run when it would not end before the run does.

    A one-epoch smoke run of a recipe with ``warmup_epochs: 1`` would otherwise
    never reach its peak learning rate; saying so beats refusing the run.
    """
    if not recipe.warmup_epochs or recipe.warmup_epochs < recipe.epochs:
        return recipe
    warmup = recipe.epochs / 2
    print(
        f"warning: {key}.warmup_epochs ({recipe.warmup_epochs:g}) does not fit in {key}.epochs "
        f"({recipe.epochs}): warming up over {warmup:g} epoch(s) instead",
        file=sys.stderr,
        flush=True,
    )
    return dataclasses.replace(recipe, warmup_epochs=warmup)


MIN_STEPS = 8  # an epoch of fewer steps than this is not an epoch: the batch is cut to fit (``fitted_batch``)


def fitted_batch(recipe: Optimization, pictures: int, key: str) -> Optimization:
    """The recipe with a batch of at most an eighth of the training pictures, where SGD's larger batch would
    leave an epoch a step or two (airbench's 1024 on a folder of 900: ten steps in ten epochs); the learning
    rate scales with the batch (Goyal et al. 2017's linear rule), which keeps SGD's step per picture."""
    if recipe.optimizer != "sgd" or recipe.batch_size * MIN_STEPS <= pictures:
        return recipe
    batch = max(16, 2 ** int(np.log2(max(pictures // MIN_STEPS, 1))))
    if batch >= recipe.batch_size:
        return recipe
    rate = recipe.learning_rate * batch / recipe.batch_size
    print(
        f"warning: {key}.batch_size {recipe.batch_size} leaves {pictures} training pictures under {MIN_STEPS} "
        f"steps an epoch: training at batch {batch} and learning_rate {rate:.4g} (the same rate per picture)",
        file=sys.stderr,
        flush=True,
    )
    return dataclasses.replace(recipe, batch_size=batch, learning_rate=rate)
