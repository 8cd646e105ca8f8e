"""Decoding one picture file into the (size, size, 3) uint8 array every stage and ``imgclf predict`` use.

Order matters and is the same everywhere: reduced-scale JPEG decoding where the
target allows it (Pillow's ``draft``, DCT scaling: a 4000x3000 photo decodes at
500x375 for a 32-px target), high bit depths scaled to 8 bits, the EXIF
orientation applied (so pixels match what a viewer shows), then the resize
mode, with one high-quality resampling at the end.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

RESIZE_MODES = ("squash", "center_crop", "pad")
# Pillow modes that hold more than 8 bits per pixel; ``convert("RGB")`` clips them
# instead of scaling, so a 16-bit scan would come out nearly white.
HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
UINT16_MAX = 65535
INT32_MAX = 2**31 - 1
ORIENTATION = 0x0112  # the EXIF tag
TIFF_HEADERS = (b"II*\x00", b"MM\x00*")  # what a readable EXIF block starts with
RESAMPLE = Image.Resampling.LANCZOS
DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


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


def needed_scale(width: int, height: int, size: int, mode: str) -> float:
    """The factor the final resize applies: what ``draft`` may decode down to, and no further."""
    side = max(width, height) if mode == "pad" else min(width, height)  # squash needs both sides >= size
    return size / side


def fit(image: Image.Image, size: int, mode: str) -> Image.Image:
    """``squash`` to size x size; ``center_crop`` the shorter side to size, then the center square;
    ``pad`` the longer side to size, then the rest with the picture's mean colour."""
    if image.size == (size, size):
        return image
    if mode == "squash":
        return image.resize((size, size), RESAMPLE)
    if mode == "center_crop":
        return ImageOps.fit(image, (size, size), RESAMPLE)
    mean = tuple(round(v) for v in np.asarray(image, dtype=np.float64).reshape(-1, 3).mean(0))
    return ImageOps.pad(image, (size, size), RESAMPLE, color=mean)


@dataclass(frozen=True)
class Decoded:
    """One file's outcome: pixels (None when the file is not a readable image) and what EXIF did."""

    pixels: np.ndarray | None
    exif_rotated: bool = False  # its EXIF orientation turned or mirrored it
    exif_unreadable: bool = False  # it has an EXIF block that cannot be read: orientation ignored


def _orientation(image: Image.Image) -> tuple[int, bool]:
    """(EXIF orientation 1..8, whether an EXIF block is there but unreadable)."""
    raw = image.info.get("exif") or b""
    body = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
    if raw and body[:4] not in TIFF_HEADERS:
        return 1, True
    try:
        value = image.getexif().get(ORIENTATION, 1)
    except (*DECODE_ERRORS, KeyError, IndexError, TypeError):
        return 1, True
    return (value, False) if isinstance(value, int) and 1 <= value <= 8 else (1, bool(raw))


def open_rgb(data: bytes, size: int, mode: str = "squash") -> tuple[Image.Image, bool, bool]:
    """(RGB picture as a viewer shows it, rotated, EXIF unreadable), decoded no larger than ``size`` needs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # palette-with-transparency notes are not errors
        with Image.open(io.BytesIO(data)) as image:
            orientation, unreadable = _orientation(image)
            if image.format == "JPEG":
                scale = needed_scale(*image.size, size, mode)
                if scale < 1:
                    image.draft(image.mode, (math.ceil(image.width * scale), math.ceil(image.height * scale)))
            image.load()
            oriented = ImageOps.exif_transpose(image) if orientation != 1 else image
            rgb = to_8bit(oriented).convert("RGB")
    return rgb, orientation != 1, unreadable


def decode_image(data: bytes, size: int, mode: str = "squash") -> Decoded:
    """``data`` as (size, size, 3) uint8 in resize ``mode``; ``Decoded(None)`` for a file Pillow cannot read."""
    try:
        rgb, rotated, unreadable = open_rgb(data, size, mode)
        pixels = np.asarray(fit(rgb, size, mode), dtype=np.uint8)
    except DECODE_ERRORS:
        return Decoded(None)
    return Decoded(pixels, rotated, unreadable)


def decode_rgb(data: bytes, size: int, mode: str = "squash") -> np.ndarray:
    """(size, size, 3) uint8; raises OSError/ValueError/Image.DecompressionBombError on a bad file."""
    rgb, _, _ = open_rgb(data, size, mode)
    return np.asarray(fit(rgb, size, mode), dtype=np.uint8)


def resize_rgb(images: np.ndarray, size: int) -> np.ndarray:
    """Resize (N, H, W, 3) uint8 images to (N, size, size, 3); a no-op when already that size."""
    if images.shape[1:3] == (size, size):
        return images
    out = np.empty((len(images), size, size, 3), np.uint8)
    for i, image in enumerate(images):
        out[i] = np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))
    return out
