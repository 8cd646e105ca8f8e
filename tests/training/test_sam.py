"""SAM's two-pass step against the update computed by hand (training/sam.py, training/keras_internals.py)."""

import keras
import numpy as np

from imgclf.training.sam import sharpness_aware


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
