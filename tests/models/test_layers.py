"""The grouped convolution's two implementations compute one function and survive saving (models/layers.py)."""

import keras
import numpy as np
import pytest

from imgclf.models.layers import GroupedConv2D


@pytest.mark.parametrize("strides", [1, 2])
@pytest.mark.parametrize("groups", [1, 4, 8])
def test_grouped_conv_implementations_compute_the_same_function(strides, groups):
    x = np.random.default_rng(0).normal(size=(2, 9, 9, 16)).astype("float32")
    native = GroupedConv2D(32, 3, groups=groups, strides=strides, implementation="native")
    split = GroupedConv2D(32, 3, groups=groups, strides=strides, implementation="split")
    reference = keras.layers.Conv2D(32, 3, strides=strides, padding="same", groups=groups, use_bias=False)
    native.build(x.shape)
    split.build(x.shape)
    reference.build(x.shape)
    split.set_weights(native.get_weights())
    reference.set_weights(native.get_weights())
    a, b, c = (keras.ops.convert_to_numpy(layer(x)) for layer in (native, split, reference))
    assert a.shape == (2, 9 // strides + (9 % strides > 0), 9 // strides + (9 % strides > 0), 32)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5)


def test_grouped_conv_survives_save_and_load(tmp_path):
    inputs = keras.Input((8, 8, 8))
    model = keras.Model(inputs, GroupedConv2D(8, 3, groups=4, implementation="split")(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    x = np.ones((1, 8, 8, 8), "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert loaded.layers[-1].implementation == "split"
