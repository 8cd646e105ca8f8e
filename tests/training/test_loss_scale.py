"""The loss a user reads in the training log is the cross-entropy plus a weight penalty of sane size, for every
model the generic trainer fits, at its params.yaml defaults, on the default data (digits upsampled to 32 px:
grayscale, so a whitened stem sees colour directions with no variance at all)."""

import keras
import numpy as np
import pytest

from imgclf.data.digits import digits_images
from imgclf.models.registry import MODELS
from imgclf.models.spec import BuildContext
from imgclf.params import Params
from imgclf.training.fit import compile_for

pytestmark = pytest.mark.slow

FITTED = [name for name, spec in MODELS.items() if spec.build is not None]
STEPS = 4


def penalty(model) -> float:
    return float(sum(keras.ops.convert_to_numpy(loss) for loss in model.losses))


@pytest.mark.parametrize("name", FITTED)
def test_the_logged_loss_is_the_cross_entropy_plus_a_small_penalty_at_the_defaults(name):
    spec, recipe = MODELS[name], getattr(Params().models, name)
    pictures, labels = digits_images(32)
    rng = np.random.default_rng(0)
    if spec.inputs == "images":
        x, context = pictures, BuildContext((32, 32, 3), 10, 0, train_images=pictures)
    else:  # embeddings: a dense head on standardized 64-d vectors that carry the label
        x = (np.eye(10)[labels] @ rng.normal(size=(10, 64)) + rng.normal(size=(len(labels), 64))).astype("float32")
        context = BuildContext((64,), 10, 0, embedding_mean=np.zeros(64), embedding_variance=np.ones(64))
    keras.utils.set_random_seed(0)
    model = spec.build(recipe, context)
    trainer = compile_for(model, recipe, False, steps_per_epoch=STEPS)
    y = keras.utils.to_categorical(labels, 10)
    start = penalty(model)
    for _ in range(STEPS):
        rows = rng.choice(len(x), recipe.batch_size)
        logs = trainer.train_on_batch(x[rows], y[rows], return_dict=True)
    end = penalty(model)
    cross_entropy = logs["loss"] - end
    assert end < max(2 * start, 1.0), f"{name}: the weight penalty grew from {start:.3g} to {end:.3g} in {STEPS} steps"
    assert 0 < cross_entropy < 2 * np.log(10), f"{name}: cross-entropy {cross_entropy:.3g} after {STEPS} steps"
