"""airbench94's recipe components in the shared from-scratch recipe, each against the paper's definition:
faster BatchNormalization shifts, the whitening bias trained for the first epochs, the triangular schedule,
Lookahead, alternating flips, whole-pixel shifts, and the batch cut to a small training set."""

import dataclasses

import keras
import numpy as np
import pytest

from imgclf.models.airbench import TORCH_INIT, AirbenchParams, build
from imgclf.models.layers import RandomShift
from imgclf.models.resnext import ResNeXtParams
from imgclf.models.resnext import build as build_resnext
from imgclf.models.spec import BuildContext
from imgclf.training.batches import Batches
from imgclf.training.fitted import fitted_batch
from imgclf.training.lookahead import BASE, Lookahead
from imgclf.training.optim import ScaledSGD, WarmupSchedule, add_weight_decay, step_scales


def sgd_steps(optimizer, variable, gradients):
    for g in gradients:
        optimizer.apply([keras.ops.convert_to_tensor(g)], [variable])
    return keras.ops.convert_to_numpy(variable)


def test_a_scaled_variable_takes_the_steps_of_sgd_at_that_many_times_the_rate():
    gradients = np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
    plain = keras.Variable(np.ones(3, "float32"), name="plain")
    fast = keras.Variable(np.ones(3, "float32"), name="beta")
    reference = sgd_steps(keras.optimizers.SGD(0.64, momentum=0.85, nesterov=True), plain, gradients)
    scaled = ScaledSGD(0.01, momentum=0.85, nesterov=True, scales={fast.path: 64.0})
    np.testing.assert_allclose(sgd_steps(scaled, fast, gradients), reference, rtol=1e-5)


def test_a_variable_stops_for_good_at_its_step_momentum_included():
    gradients = np.ones((5, 2), "float32")
    held = keras.Variable(np.zeros(2, "float32"), name="bias")
    optimizer = ScaledSGD(0.1, momentum=0.9, nesterov=True, until={held.path: 2})
    after_two = sgd_steps(optimizer, held, gradients[:2])
    assert np.all(after_two < 0)  # it moved while it could
    np.testing.assert_array_equal(sgd_steps(optimizer, held, gradients[2:]), after_two)


def whitened_model():
    pictures = np.random.default_rng(0).integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    recipe = AirbenchParams(widths=[8, 16, 16])
    return build(recipe, BuildContext((16, 16, 3), 10, 0, train_images=pictures)), recipe


def test_the_shifts_are_scaled_and_the_whitened_stem_held_its_bias_for_the_first_epochs():
    model, recipe = whitened_model()
    scales, until = step_scales(model, recipe, steps_per_epoch=7)
    names = {path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1]: factor for path, factor in scales.items()}
    assert names == {f"group{g}_bn{b}/beta": 64.0 for g in (1, 2, 3) for b in (1, 2)}  # no classifier bias
    assert sorted((path.rsplit("/", 1)[-1], step) for path, step in until.items()) == [("bias", 21), ("kernel", 0)]


def test_with_bias_scaling_the_shifts_are_decayed_as_much_as_a_kernel_and_the_whitening_not_at_all():
    model, recipe = whitened_model()
    add_weight_decay(model, recipe)
    decay = {
        v.path.rsplit("/", 2)[-2] + "/" + v.path.rsplit("/", 1)[-1]: v.regularizer for v in model.trainable_weights
    }
    assert decay["whitened_stem/kernel"] is None
    assert decay["group1_bn1/beta"].l2 == pytest.approx(recipe.weight_decay / 2 / 64)
    assert decay["group1_conv1/kernel"].l2 == pytest.approx(recipe.weight_decay / 2)
    plain = build_resnext(ResNeXtParams(depth=11), BuildContext((16, 16, 3), 10, 0))  # the standard recipe
    add_weight_decay(plain, ResNeXtParams())
    assert all(v.regularizer is None for v in plain.trainable_weights if len(v.shape) == 1)


def test_the_triangular_schedule_is_the_papers():
    """airbench94.py's get_lr: 0.2 -> 1 over the warmup, then 1 -> 0.07 linearly to the last step."""
    schedule = WarmupSchedule(2.0, warmup_steps=23, total_steps=100, kind="triangular")
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 23, 100)]
    np.testing.assert_allclose(rates, [0.4, 2.0, 0.14], rtol=1e-6)
    assert float(keras.ops.convert_to_numpy(schedule(61))) == pytest.approx(2.0 * (1 - 0.93 * 38 / 77), rel=1e-6)


def test_lookahead_pulls_the_weights_to_their_slow_copy_every_five_steps_and_ends_on_it():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    callback = Lookahead(total_steps=10)
    callback.set_model(model)
    callback.set_params({"steps": 10})
    start = [w.copy() for w in model.get_weights()]
    callback.on_train_begin()
    moved = [w + 1.0 for w in start]
    model.set_weights(moved)
    model.optimizer.iterations.assign(5)
    callback.on_train_batch_end(4)
    decay = BASE * 0.5**3
    for now, before in zip(model.get_weights(), start):
        np.testing.assert_allclose(now, before + (1 - decay), rtol=1e-6)
    model.set_weights([w + 1.0 for w in model.get_weights()])
    model.optimizer.iterations.assign(10)
    callback.on_train_batch_end(9)  # a multiple of 5 and the last step: pulled with the full decay
    slow = [w.copy() for w in model.get_weights()]
    model.optimizer.iterations.assign(10)
    callback.set_params({"steps": 11})
    model.set_weights([w + 1.0 for w in slow])
    callback._pull(1.0)  # the run's end: the weights become the slow copy, untouched
    for now, before in zip(model.get_weights(), slow):
        np.testing.assert_allclose(now, before, rtol=1e-6)


def test_alternating_flips_mirror_each_picture_in_exactly_one_of_two_epochs():
    pictures = np.arange(40 * 2 * 3 * 3, dtype=np.uint8).reshape(40, 2, 3, 3)
    batches = Batches(pictures, np.arange(40) % 2, 2, 40, seed=0, alternate_flip=True)
    even = batches[0][0]
    batches.set_epoch(1)
    odd = batches[0][0]
    order = np.sort(batches.order)
    mirrored_even = (even != pictures[order]).any(axis=(1, 2, 3))
    mirrored_odd = (odd != pictures[order]).any(axis=(1, 2, 3))
    assert np.all(mirrored_even != mirrored_odd) and 10 < mirrored_even.sum() < 30
    np.testing.assert_array_equal(even[mirrored_even], pictures[order][mirrored_even][:, :, ::-1])


def test_random_shifts_move_whole_pixels_with_reflected_borders_and_only_in_training():
    pictures = np.random.default_rng(0).integers(0, 256, (200, 6, 6, 3)).astype("float32")
    layer = RandomShift(2, seed=0)
    shifted = np.asarray(layer(pictures, training=True))
    padded = np.pad(pictures, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    seen = set()
    for i in range(len(pictures)):
        found = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if np.array_equal(shifted[i], padded[i, dy : dy + 6, dx : dx + 6])
        ]
        assert found, f"picture {i} is not a whole-pixel shift of itself"
        seen.add(found[0])
    assert len(seen) == 25  # every offset of [-2, 2]^2 drawn
    np.testing.assert_array_equal(np.asarray(layer(pictures, training=False)), pictures)


def test_sgds_batch_is_cut_to_an_eighth_of_a_small_training_set_with_the_rate_in_proportion(capsys):
    recipe = AirbenchParams()
    cut = fitted_batch(recipe, 900, "models.airbench")
    assert (cut.batch_size, cut.learning_rate) == (64, pytest.approx(1.5 * 64 / 1024))
    assert "models.airbench.batch_size 1024 leaves 900 training pictures under 8 steps" in capsys.readouterr().err
    assert fitted_batch(recipe, 45_000, "models.airbench") is recipe
    adam = dataclasses.replace(recipe, optimizer="adam", bias_lr_scale=1.0)
    assert fitted_batch(adam, 900, "k") is adam  # Adam's rate does not follow the batch


def test_the_papers_initialisation_is_pytorchs_default():
    """Uniform within 1/sqrt(fan_in): a third of He's variance, which the paper's rate and decay were tuned for."""
    layer = keras.layers.Conv2D(64, 3, kernel_initializer=TORCH_INIT)
    layer.build((None, 8, 8, 32))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    bound = 1 / np.sqrt(3 * 3 * 32)
    assert np.abs(kernel).max() <= bound and kernel.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)
