import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from imgclf.models.linear_probe import probe_as_keras


def test_the_keras_probe_reproduces_scikit_learn_logits():
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 4, (4, 6))
    y = np.repeat(np.arange(4), 30)
    x = (centers[y] + rng.normal(0, 1, (len(y), 6))) * 3 + 5
    scaler = StandardScaler().fit(x)
    clf = LogisticRegression(C=0.5, max_iter=500).fit(scaler.transform(x), y)
    model = probe_as_keras(scaler.mean_, scaler.scale_, clf.coef_, clf.intercept_)
    np.testing.assert_allclose(
        model.predict(x.astype(np.float32), verbose=0), clf.decision_function(scaler.transform(x)), rtol=1e-4, atol=1e-4
    )
