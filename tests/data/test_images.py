import io

import numpy as np
import pytest
from PIL import Image

from imgclf.data.images import decode_rgb

GRADIENT = np.arange(256, dtype=np.uint8).reshape(16, 16)  # every 8-bit level once


def encoded(array: np.ndarray, fmt: str, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array, mode) if mode else Image.fromarray(array)
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def test_16bit_grayscale_png_matches_its_8bit_version():
    wide = GRADIENT.astype(np.uint16) * 257  # 0..65535, what a scanner writes for the same picture
    data = encoded(wide, "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    expected = decode_rgb(encoded(GRADIENT, "PNG"), 16)
    np.testing.assert_array_equal(decode_rgb(data, 16), expected)


@pytest.mark.parametrize(
    "array, mode",
    [
        (GRADIENT.astype(np.int32) * 257, "I"),  # 16-bit data promoted to 32-bit integers
        (GRADIENT.astype(np.float32) / 255.0, "F"),  # floats in [0, 1]
        (GRADIENT.astype(np.float32), "F"),  # floats holding 8-bit values
    ],
)
def test_32bit_integer_and_float_tiffs_scale_to_the_same_8bit_picture(array, mode):
    data = encoded(array, "TIFF")
    assert Image.open(io.BytesIO(data)).mode == mode
    np.testing.assert_array_equal(decode_rgb(data, 16)[..., 0], GRADIENT)


def test_full_range_32bit_integers_scale_by_their_range():
    array = (GRADIENT.astype(np.int64) * (2**31 - 1) // 255).astype(np.int32)
    np.testing.assert_array_equal(decode_rgb(encoded(array, "TIFF"), 16)[..., 0], GRADIENT)
