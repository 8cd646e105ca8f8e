"""Augmented views of the training pictures, made before featurizing so the cache keeps augmentation.

Caching embeddings (the BatchNormalization workaround) would otherwise throw
augmentation away. View 0 is the picture, view 1 its mirror, and every further
view a random shift (up to 1/8 of the side, reflected borders) with a random
mirror. Every draw depends only on (seed, view), so a view of a picture is the
same whichever batch it falls in.
"""

from __future__ import annotations

import numpy as np

SHIFT = 0.125  # the largest shift, as a share of the side: 4 px at 32 px, as the CIFAR recipes translate


def view_plan(count: int, view: int, side: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(mirror?, (dy, dx) shift) for each of ``count`` pictures in view ``view``."""
    if view == 0:
        return np.zeros(count, bool), np.zeros((count, 2), int)
    if view == 1:
        return np.ones(count, bool), np.zeros((count, 2), int)
    rng = np.random.default_rng([seed, view])
    most = max(1, round(SHIFT * side))
    return rng.random(count) < 0.5, rng.integers(-most, most + 1, (count, 2))


def apply_view(images: np.ndarray, mirror: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(B, H, W, 3) uint8 pictures mirrored and shifted per picture, borders reflected."""
    out = np.empty_like(images)
    h, w = images.shape[1:3]
    pad_y, pad_x = int(np.abs(shift[:, 0]).max(initial=0)), int(np.abs(shift[:, 1]).max(initial=0))
    padded = np.pad(images, ((0, 0), (pad_y, pad_y), (pad_x, pad_x), (0, 0)), mode="reflect")
    for i, (flip, (dy, dx)) in enumerate(zip(mirror, shift)):
        crop = padded[i, pad_y + dy : pad_y + dy + h, pad_x + dx : pad_x + dx + w]
        out[i] = crop[:, ::-1] if flip else crop
    return out
