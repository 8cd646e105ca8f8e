"""Decoding and resizing single images with Pillow, for the data sources."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image

# Pillow modes that hold more than 8 bits per pixel; ``convert("RGB")`` clips them
# instead of scaling, so a 16-bit scan would come out nearly white.
HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
UINT16_MAX = 65535
INT32_MAX = 2**31 - 1


def image_extensions() -> set[str]:
    """Lower-case suffixes Pillow can open ('.jpg', '.png', ...)."""
    Image.init()
    return {ext.lower() for ext in Image.registered_extensions()}


def to_8bit(image: Image.Image) -> Image.Image:
    """A 16-bit, 32-bit integer or float grayscale image as 8-bit ``L``, scaled, not clipped.

    16-bit data maps 0..65535 to 0..255 (v / 257, so 257*k gives back k). 32-bit
    integers that fit in 16 bits are 16-bit data (what most decoders promote it
    to); wider ones scale from 0..2^31-1. Floats in [0, 1] scale by 255, floats
    in (1, 255] are taken as 8-bit values, wider ones as 16-bit or by their maximum.
    Other modes are returned unchanged.
    """
    if image.mode not in HIGH_DEPTH_MODES:
        return image
    values = np.asarray(image).astype(np.float64)
    top = float(values.max()) if values.size else 0.0
    if image.mode.startswith("I;16"):
        scale = UINT16_MAX
    elif image.mode == "I":
        scale = UINT16_MAX if top <= UINT16_MAX else INT32_MAX
    elif top <= 1.0:
        scale = 1.0
    elif top <= 255.0:
        scale = 255.0
    else:
        scale = UINT16_MAX if top <= UINT16_MAX else top
    scaled = np.rint(np.clip(values, 0.0, scale) * (255.0 / scale))
    return Image.fromarray(scaled.astype(np.uint8), "L")


def decode_rgb(data: bytes, size: int) -> np.ndarray:
    """(size, size, 3) uint8; raises OSError/ValueError/Image.DecompressionBombError on a bad file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # palette-with-transparency notes are not errors
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            rgb = to_8bit(image).convert("RGB")
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8)


def decode_or_none(data: bytes, size: int) -> np.ndarray | None:
    """Like ``decode_rgb``, but None for a file Pillow cannot read."""
    try:
        return decode_rgb(data, size)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def resize_rgb(images: np.ndarray, size: int) -> np.ndarray:
    """Resize (N, H, W, 3) uint8 images to (N, size, size, 3); a no-op when already that size."""
    if images.shape[1:3] == (size, size):
        return images
    out = np.empty((len(images), size, size, 3), np.uint8)
    for i, image in enumerate(images):
        out[i] = np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))
    return out
