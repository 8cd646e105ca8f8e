import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from imgclf.data.images import decode_image, decode_rgb

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


# ------------------------------------------------------------- orientation, resize modes


def quadrants(height: int = 40, width: int = 60) -> np.ndarray:
    """A non-square picture whose four corners differ, so any turn or mirror shows."""
    picture = np.zeros((height, width, 3), np.uint8)
    picture[: height // 2, : width // 2] = (250, 20, 20)
    picture[: height // 2, width // 2 :] = (20, 250, 20)
    picture[height // 2 :, : width // 2] = (20, 20, 250)
    picture[height // 2 :, width // 2 :] = (240, 240, 240)
    return picture


# The stored pixels for each EXIF orientation: the inverse of what a viewer applies.
STORED = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def with_orientation(picture: np.ndarray, orientation: int, fmt: str = "PNG", **save) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(picture).transpose(STORED[orientation]).save(buffer, format=fmt, exif=exif.tobytes(), **save)
    return buffer.getvalue()


@pytest.mark.parametrize("orientation", list(STORED))
@pytest.mark.parametrize("mode", ["squash", "center_crop", "pad"])
def test_an_exif_rotated_picture_gives_the_same_array_as_the_upright_one(orientation, mode):
    upright = decode_image(encoded(quadrants(), "PNG"), 24, mode)
    turned = decode_image(with_orientation(quadrants(), orientation), 24, mode)
    np.testing.assert_array_equal(turned.pixels, upright.pixels)
    assert turned.exif_rotated and not upright.exif_rotated and not turned.exif_unreadable


def test_a_large_rotated_phone_jpeg_decodes_at_reduced_scale_and_upright():
    """4000x3000 stored sideways (orientation 6): the result matches the upright picture decoded in full."""
    big = np.asarray(Image.fromarray(quadrants()).resize((4000, 3000), Image.Resampling.NEAREST))
    sideways = with_orientation(big, 6, "JPEG", quality=95)
    decoded = decode_image(sideways, 32, "center_crop")
    reference = np.asarray(ImageOps.fit(Image.fromarray(big), (32, 32), Image.Resampling.LANCZOS))
    assert decoded.exif_rotated
    assert np.abs(decoded.pixels.astype(int) - reference.astype(int)).mean() < 4  # JPEG and DCT scaling, not a turn


def test_center_crop_keeps_the_middle_of_the_shorter_side():
    picture = np.zeros((40, 80, 3), np.uint8)
    picture[:, :12] = 255  # a white band at the left edge: the crop keeps columns 20-59 only
    picture[:, 12:68] = (0, 0, 200)
    out = decode_image(encoded(picture, "PNG"), 20, "center_crop").pixels
    assert out.shape == (20, 20, 3)
    assert out[..., 0].max() < 10 and abs(int(out[..., 2].mean()) - 200) <= 2


def test_pad_keeps_the_whole_picture_and_fills_with_its_mean_colour():
    picture = np.full((20, 40, 3), (200, 100, 0), np.uint8)
    out = decode_image(encoded(picture, "PNG"), 20, "pad").pixels
    assert out.shape == (20, 20, 3)
    np.testing.assert_array_equal(out[10, :, :], np.full((20, 3), (200, 100, 0)))  # the middle row is the picture
    np.testing.assert_array_equal(out[0, 0], (200, 100, 0))  # the band is the mean colour: here the same


def test_pad_band_is_the_mean_colour_of_a_two_colour_picture():
    picture = np.zeros((10, 40, 3), np.uint8)
    picture[:, 20:] = 200
    out = decode_image(encoded(picture, "PNG"), 40, "pad").pixels
    np.testing.assert_array_equal(out[0, 0], (100, 100, 100))
    assert out[20, 5].tolist() == [0, 0, 0] and out[20, 35].tolist() == [200, 200, 200]


def test_squash_stretches_to_the_square():
    picture = np.zeros((20, 40, 3), np.uint8)
    picture[:, 20:] = 255
    out = decode_image(encoded(picture, "PNG"), 10, "squash").pixels
    assert out[:, :4].max() < 20 and out[:, 6:].min() > 235  # the halves stay halves


def test_a_picture_smaller_than_the_target_is_upscaled_not_refused():
    out = decode_image(encoded(quadrants(8, 12), "PNG"), 32, "center_crop")
    assert out.pixels.shape == (32, 32, 3)


def test_a_corrupt_exif_block_still_decodes_with_the_orientation_ignored():
    buffer = io.BytesIO()
    Image.fromarray(quadrants()).save(buffer, format="JPEG", exif=b"Exif\x00\x00" + b"\xff" * 40)
    decoded = decode_image(buffer.getvalue(), 16, "squash")
    assert decoded.pixels is not None and decoded.pixels.shape == (16, 16, 3)
    assert decoded.exif_unreadable and not decoded.exif_rotated


def test_an_unreadable_file_is_none_not_an_exception():
    assert decode_image(b"not a picture", 16).pixels is None
