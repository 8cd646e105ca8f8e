"""The probe's standardization (training/linear_probe.py) on embeddings with a nearly dead dimension."""

import numpy as np
from sklearn.linear_model import LogisticRegression

from imgclf.training.linear_probe import MIN_RELATIVE_SCALE, fitted_scaler


def embeddings_with_a_nearly_dead_unit():
    """Random-backbone embeddings: 64 live ReLU dimensions and one alive on 3 of 300 pictures, at 1e-4 (the digits
    default had a dimension of std 1.1e-5 against a median of 0.30)."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 100)
    x = np.maximum(rng.normal(0, 1, (300, 65)) + np.eye(3, 65)[y] * 2, 0).astype(np.float32)
    x[:, 64] = 0.0
    x[[5, 150, 250], 64] = 1e-4
    return x, y


def test_a_nearly_dead_dimension_does_not_turn_float32_rounding_into_logits():
    """Another kernel's float32 rounding of the embeddings (an absolute error of about 1e-7 of the activations'
    scale, the same on every dimension: the dead unit's 1e-4 is summed from terms of order 1) moves the logits by
    about that rounding, not 1e5 times it."""
    x, y = embeddings_with_a_nearly_dead_unit()
    scaler = fitted_scaler(x)
    assert scaler.scale_[64] == MIN_RELATIVE_SCALE * np.median(scaler.scale_)  # floored
    assert np.all(scaler.scale_[:64] == np.std(x[:, :64], axis=0, dtype=np.float64))  # the live ones untouched
    clf = LogisticRegression(max_iter=1000).fit(scaler.transform(x), y)
    rounded = x + np.random.default_rng(1).normal(0, 1e-7, x.shape).astype(np.float32)
    moved = clf.decision_function(scaler.transform(rounded)) - clf.decision_function(scaler.transform(x))
    assert np.abs(moved).max() < 1e-4
