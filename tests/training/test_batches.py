import numpy as np
import pytest

from imgclf.training.batches import Batches, mix_batch


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
