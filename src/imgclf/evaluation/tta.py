"""Test-time augmentation: which views of a test picture are scored, and how much each counts.

``evaluate.tta`` names a set of views; this table is their one definition. The
model evaluate scores and export writes (evaluation/scoring.py) makes them with
two layers (models/layers.py ``StackViews`` and ``WeighViews``) and averages the
views' logits with these weights; a model of embeddings is scored on the
cached embeddings of the test pictures and of their mirrors, with the same weights.

``flip_translate`` is airbench's multi-view test (Jordan 2024): the picture and
its mirror weigh half, and the pair shifted one pixel down-right and one
pixel up-left (borders reflected, as training's ``augment.translate``) the
other half. It needs the pictures, so only models of pictures have it.
"""

from __future__ import annotations

from dataclasses import dataclass

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
