import dataclasses

import keras
import numpy as np
import pytest

from imgclf.models.recipe import ScratchOptimization
from imgclf.training.optim import WarmupSchedule, add_weight_decay, learning_rate, schedule_callbacks


def lr_at(schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_warmup_then_cosine_to_zero():
    s = WarmupSchedule(0.1, warmup_steps=10, total_steps=110, kind="cosine")
    assert lr_at(s, 0) == pytest.approx(0.01)
    assert lr_at(s, 9) == pytest.approx(0.1)
    assert lr_at(s, 10) == pytest.approx(0.1)
    assert lr_at(s, 60) == pytest.approx(0.05, rel=1e-5)
    assert lr_at(s, 110) == pytest.approx(0.0, abs=1e-7)


def test_step_schedule_decays_at_fractions_of_the_run():
    recipe = dataclasses.replace(ScratchOptimization(), schedule="step", epochs=10, warmup_epochs=0, step_at=[0.5, 0.8])
    s = learning_rate(recipe, steps_per_epoch=100)
    assert [lr_at(s, k) for k in (0, 499, 500, 799, 800)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])


def test_plateau_uses_keras_callbacks_and_a_plain_learning_rate():
    recipe = dataclasses.replace(ScratchOptimization(), schedule="plateau", warmup_epochs=2)
    assert learning_rate(recipe, 10) == 0.1
    kinds = [type(c).__name__ for c in schedule_callbacks(recipe)]
    assert kinds == ["LearningRateScheduler", "ReduceLROnPlateau"]


def test_schedule_config_round_trips():
    """Saved models carry no schedule (training/saving.py); the config still describes it whole, for logs."""
    s = WarmupSchedule(0.1, 5, 50, "step", [20, 40], 0.5)
    again = WarmupSchedule.from_config(s.get_config())
    assert [lr_at(again, k) for k in (0, 25, 45)] == [lr_at(s, k) for k in (0, 25, 45)]


def test_weight_decay_is_an_l2_gradient_on_kernels_only():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.BatchNormalization()])
    add_weight_decay(model, dataclasses.replace(ScratchOptimization(), weight_decay=0.01))
    kernel = model.layers[0].kernel
    penalty = sum(float(keras.ops.convert_to_numpy(loss)) for loss in model.losses)
    assert penalty == pytest.approx(0.005 * float(np.sum(np.square(keras.ops.convert_to_numpy(kernel)))), rel=1e-5)
    assert len(model.losses) == 1  # bias and BN parameters are not decayed


def test_adamw_keeps_decay_out_of_the_loss():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    add_weight_decay(model, dataclasses.replace(ScratchOptimization(), optimizer="adamw", weight_decay=0.01))
    assert model.losses == []


def test_ema_keeps_a_moving_average_and_puts_it_in_the_model_every_epoch():
    from imgclf.training.optim import make_optimizer

    plain = make_optimizer(dataclasses.replace(ScratchOptimization(), ema=0.0), steps_per_epoch=30)
    averaged = make_optimizer(dataclasses.replace(ScratchOptimization(), ema=0.999), steps_per_epoch=30)
    assert not plain.use_ema
    assert averaged.use_ema and averaged.ema_momentum == 0.999 and averaged.ema_overwrite_frequency == 30
