"""Decoding and resizing single images with Pillow, for the data sources."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image


def image_extensions() -> set[str]:
    """Lower-case suffixes Pillow can open ('.jpg', '.png', ...)."""
    Image.init()
    return {ext.lower() for ext in Image.registered_extensions()}


def decode_rgb(data: bytes, size: int) -> np.ndarray:
    """(size, size, 3) uint8; raises OSError/ValueError/Image.DecompressionBombError on a bad file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # palette-with-transparency notes are not errors
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            rgb = image.convert("RGB")
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
