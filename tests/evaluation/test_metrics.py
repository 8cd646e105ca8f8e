import numpy as np
import pytest

from imgclf.evaluation.metrics import classification_metrics, confusion_pairs, per_class_table, softmax


def test_softmax_is_stable_for_large_logits():
    probs = softmax(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(probs, [[0.5, 0.5, 0.0]])


def test_top1_top5_and_macro_f1_by_hand():
    # 7 classes; class 6 never occurs and is never predicted.
    labels = np.array([0, 1, 2, 3])
    probs = np.full((4, 7), 0.01)
    probs[0, 0] = 0.9  # right
    probs[1, 1] = 0.9  # right
    probs[2, [0, 2]] = [0.5, 0.4]  # wrong; true class second
    probs[3, [0, 1, 2, 4, 5]] = [0.3, 0.2, 0.15, 0.14, 0.13]  # wrong; true class 3 ranks 6th
    probs /= probs.sum(1, keepdims=True)
    metrics = classification_metrics(labels, probs, list("abcdefg"))
    assert metrics["top1"] == 0.5
    assert metrics["top5"] == 0.75
    # per-class F1: c0 precision 1/3, recall 1 -> 0.5; c1 = 1; c2, c3 = 0. Classes 4-6 have no
    # test images, so they have no recall and stay out of the average instead of adding zeros.
    assert metrics["macro_f1"] == pytest.approx((0.5 + 1.0) / 4)
    assert metrics["classes_without_test_images"] == ["e", "f", "g"]
    assert metrics["images"] == 4


@pytest.mark.parametrize("classes", [2, 3, 5])
def test_few_classes_get_metrics_without_a_meaningless_top5(classes):
    rng = np.random.default_rng(0)
    labels = np.arange(20) % classes
    probs = softmax(rng.normal(size=(20, classes)))
    metrics = classification_metrics(labels, probs, [f"c{i}" for i in range(classes)])
    assert metrics["top1"] == float(np.mean(probs.argmax(1) == labels))
    assert "top5" not in metrics and "top5 not reported" in metrics["notes"][0]
    assert 0 <= metrics["macro_f1"] <= 1 and metrics["log_loss"] > 0


def test_per_class_table_and_confusion_pairs_use_class_names():
    labels = np.array([0, 1, 1])
    predicted = np.array([0, 0, 1])
    table = per_class_table(labels, predicted, ["cat", "dog"])
    assert table["class"].tolist() == ["cat", "dog"]
    assert per_class_table(labels, predicted, ["cat", "dog", "eel"])["class"].tolist() == ["cat", "dog"]
    assert table["precision"].tolist() == [0.5, 1.0] and table["recall"].tolist() == [1.0, 0.5]
    assert table["support"].tolist() == [1, 2]
    pairs = confusion_pairs(labels, predicted, ["cat", "dog"])
    assert pairs.values.tolist() == [["cat", "cat"], ["dog", "cat"], ["dog", "dog"]]


def test_a_float32_softmax_is_scored_without_sklearns_sum_warning():
    """A model's float32 probabilities, whose rows miss 1 by float32 rounding, give no warning and the figures of
    their float64 twin."""
    import warnings

    logits = np.random.default_rng(0).normal(size=(500, 10)) * 4
    probs = softmax(logits).astype(np.float32)
    assert np.abs(probs.astype(np.float64).sum(1) - 1).max() > np.sqrt(np.finfo(np.float64).eps)  # the case
    labels = np.random.default_rng(1).integers(0, 10, 500)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scored = classification_metrics(labels, probs, [str(i) for i in range(10)])
    twin = classification_metrics(labels, softmax(logits), [str(i) for i in range(10)])
    assert scored["log_loss"] == pytest.approx(twin["log_loss"], rel=1e-6)
    assert scored["top1"] == twin["top1"] and scored["top5"] == twin["top5"]
