import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from imgclf.models.linear_probe import probe_as_keras


def fitted_probe(classes: int = 4):
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 4, (classes, 6))
    y = np.repeat(np.arange(classes), 30)
    x = (centers[y] + rng.normal(0, 1, (len(y), 6))) * 3 + 5
    scaler = StandardScaler().fit(x)
    return x, scaler, LogisticRegression(C=0.5, max_iter=500).fit(scaler.transform(x), y)


@pytest.mark.parametrize("classes", [4, 2])  # scikit-learn fits a single logit for two classes
def test_the_probe_is_one_dense_layer_with_scikit_learns_probabilities(classes):
    x, scaler, clf = fitted_probe(classes)
    model = probe_as_keras(scaler.mean_, scaler.scale_, clf.coef_, clf.intercept_)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense"]  # standardization folded in
    logits = model.predict(x.astype(np.float32), verbose=0)
    assert logits.shape == (len(x), classes)
    if classes > 2:
        np.testing.assert_allclose(logits, clf.decision_function(scaler.transform(x)), rtol=1e-4, atol=1e-4)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    np.testing.assert_allclose(probs, clf.predict_proba(scaler.transform(x)), atol=1e-5)
