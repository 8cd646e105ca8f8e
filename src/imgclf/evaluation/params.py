"""params.yaml's ``evaluate`` section."""

from __future__ import annotations

from dataclasses import dataclass

from ..constraints import Number, OneOf, param
from .tta import TTA_MODES


@dataclass(frozen=True)
class EvaluateParams:
    """What stage evaluate shows besides the metrics."""

    gallery_size: int = param(32, Number(int, 1))  # most confident mistakes in metrics/misclassified.png
    # flip: the mean of each test picture and its mirror; flip_translate (models of pictures): and of the pair
    # shifted 1 px each way (airbench's); evaluation/tta.py
    tta: str = param("none", OneOf(TTA_MODES))
