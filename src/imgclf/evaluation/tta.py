"""Test-time augmentation: which views of a test picture are scored, and how much each counts.

``evaluate.tta`` names a set of views. Stage evaluate makes them with numpy
(``view_of``); stage export builds the same views into the model with Keras
layers (export/end_to_end.py), so ``imgclf predict`` gives the probabilities
eval.json scored. Both read the views from ``views``; tests hold the two
implementations to each other.

``flip_translate`` is airbench's multi-view test (Jordan 2024): the picture and
its mirror weigh half, and the pair shifted one pixel down-right and one
pixel up-left (borders reflected, as training's ``augment.translate``) the
other half. It needs the pictures, so only models of pictures have it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TTA_MODES = ("none", "flip", "flip_translate")
PICTURES_ONLY = ("flip_translate",)  # the embedding cache holds plain and mirrored test pictures only


@dataclass(frozen=True)
class View:
    mirror: bool  # flipped left to right first
    shift: int  # then moved this many pixels down and right (negative: up and left), borders reflected
    weight: float


def views(tta: str) -> tuple[View, ...]:
    """The views ``evaluate.tta`` scores; their weights sum to 1."""
    if tta == "none":
        return (View(False, 0, 1.0),)
    if tta == "flip":
        return (View(False, 0, 0.5), View(True, 0, 0.5))
    if tta == "flip_translate":
        return tuple(
            View(mirror, shift, 0.25 if shift == 0 else 0.125) for shift in (0, 1, -1) for mirror in (False, True)
        )
    raise ValueError(f"evaluate.tta must be one of {', '.join(map(repr, TTA_MODES))}; got {tta!r}")


def view_of(pictures: np.ndarray, view: View) -> np.ndarray:
    """``view`` of pictures (N, H, W, C), as a new contiguous array."""
    x = pictures[:, :, ::-1] if view.mirror else pictures
    if view.shift:
        pad = abs(view.shift)
        height, width = x.shape[1:3]
        padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
        start = pad - view.shift  # content moved down-right: the crop starts above and left of it
        x = padded[:, start : start + height, start : start + width]
    return np.ascontiguousarray(x)
