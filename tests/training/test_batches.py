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


def test_each_epoch_draws_one_cached_view_per_item_the_same_way_every_time():
    base = np.zeros((6, 2), np.float32)
    views = np.stack([np.full((6, 2), 1.0), np.full((6, 2), 2.0)]).astype(np.float16)  # view v holds the value v
    labels = np.arange(6) % 2

    def served(epoch):
        batches = Batches(base, labels, 2, batch_size=6, seed=3, epoch=epoch, views=views)
        return batches[0][0][:, 0]

    first = served(0)
    assert set(first.tolist()) <= {0.0, 1.0, 2.0} and len(set(first.tolist())) > 1
    np.testing.assert_array_equal(first, served(0))
    assert any(not np.array_equal(first, served(e)) for e in range(1, 5))


def test_balanced_class_weights_become_per_sample_weights_mixed_like_the_labels():
    from imgclf.training.batches import balanced_weights

    labels = np.array([0] * 9 + [1])
    weights = balanced_weights(labels, 2)
    np.testing.assert_allclose(weights, [10 / 18, 10 / 2])
    x = np.zeros((10, 2), np.float32)
    _, targets, sample = Batches(x, labels, 2, batch_size=10, class_weights=weights)[0]
    np.testing.assert_allclose(sample, targets @ weights)
    _, mixed_targets, mixed = Batches(x, labels, 2, batch_size=10, seed=0, mixup=0.4, class_weights=weights)[0]
    np.testing.assert_allclose(mixed, mixed_targets @ weights)


def test_keras_feeds_the_batches_through_tf_data_without_autotuning():
    """tf.data's autotuner stalled every few epochs of a CPU run (batches.loader_threads says why)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the tf.data pipeline is TensorFlow's")
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1) * np.ones((1, 4, 4, 3), np.uint8)
    batches = Batches(images, np.arange(10) % 2, num_classes=2, batch_size=4, seed=0)
    dataset = PyDatasetAdapter(batches, shuffle=False).get_tf_dataset()
    assert dataset.options().autotune.enabled is False
    served = [np.asarray(inputs) for inputs, _ in dataset]
    assert len(served) == len(batches)
    for index, inputs in enumerate(served):  # every batch, in order, through Keras' thread pool
        np.testing.assert_array_equal(inputs, batches[index][0])
