import keras
import numpy as np
import pytest

from imgclf.features.preprocessing import ImageNetPreprocess


@pytest.mark.parametrize(
    "mode, module",
    [
        ("caffe", keras.applications.resnet50),
        ("tf", keras.applications.mobilenet),
        ("torch", keras.applications.densenet),
    ],
)
def test_preprocessing_layer_matches_keras_applications(mode, module):
    pixels = np.random.default_rng(0).integers(0, 256, (2, 5, 5, 3), dtype=np.uint8)
    ours = keras.ops.convert_to_numpy(ImageNetPreprocess(mode)(pixels))
    reference = module.preprocess_input(pixels.astype("float32"))
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-4)
