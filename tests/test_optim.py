import dataclasses

import keras
import numpy as np
import pytest

from imgclf.batches import Batches, mix_batch
from imgclf.optim import WarmupSchedule, add_weight_decay, learning_rate, schedule_callbacks
from imgclf.params import ScratchOptimization
from imgclf.sam import sharpness_aware


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


def test_schedule_survives_serialization():
    s = WarmupSchedule(0.1, 5, 50, "step", [20, 40], 0.5)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(s))
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


def test_batches_order_depends_on_seed_and_epoch_only():
    x = np.arange(10)[:, None].astype("float32")
    labels = np.arange(10) % 2

    def epoch_rows(epoch):
        batches = Batches(x, labels, 2, batch_size=4, seed=7, epoch=epoch)
        return np.concatenate([batches[i][0][:, 0] for i in range(len(batches))])

    first = epoch_rows(0)
    assert sorted(first.tolist()) == list(range(10))
    assert np.array_equal(first, epoch_rows(0)) and not np.array_equal(first, epoch_rows(1))
    running = Batches(x, labels, 2, batch_size=4, seed=7)
    running.on_epoch_end()  # Keras calls this once more than there are epochs; it must not count
    assert np.array_equal(np.concatenate([running[i][0][:, 0] for i in range(3)]), first)
    running.set_epoch(1)
    assert np.array_equal(np.concatenate([running[i][0][:, 0] for i in range(3)]), epoch_rows(1))


@pytest.mark.parametrize("mixup, cutmix", [(0.4, 0.0), (0.0, 1.0)])
def test_mixing_keeps_targets_a_distribution_matching_the_pixels(mixup, cutmix):
    rng = np.random.default_rng(0)
    images = np.stack([np.full((8, 8, 3), 0, np.uint8), np.full((8, 8, 3), 200, np.uint8)])
    targets = np.eye(2, dtype=np.float32)
    mixed, mixed_targets = mix_batch(images, targets, rng, mixup, cutmix)
    np.testing.assert_allclose(mixed_targets.sum(1), 1.0)
    # the share of image 1 in each mixed image equals its target weight
    np.testing.assert_allclose(mixed.mean(axis=(1, 2, 3)) / 200, mixed_targets[:, 1], atol=1e-6)


def test_sam_step_matches_the_two_pass_update_by_hand():
    x = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]], "float32")
    y = np.array([[1.0], [0.0], [2.0]], "float32")
    w0 = np.array([[0.3], [-0.2]], "float32")
    inner = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    inner.layers[0].set_weights([w0])
    model = sharpness_aware(inner, rho=0.5)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.train_on_batch(x, y)

    def grad(w):  # d/dw mean((xw - y)^2)
        return 2 * x.T @ (x @ w - y) / len(x)

    g = grad(w0)
    expected = w0 - 0.1 * grad(w0 + 0.5 * g / np.linalg.norm(g))
    np.testing.assert_allclose(inner.layers[0].get_weights()[0], expected, rtol=1e-5)
    assert not np.allclose(expected, w0 - 0.1 * g)  # differs from a plain SGD step
