"""Whether the model's confidence means what it says: expected calibration error and a reliability table."""

from __future__ import annotations

import numpy as np
import pandas as pd

BINS = 15  # equal-width confidence bins, as in Guo et al. 2017


def reliability_table(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> pd.DataFrame:
    """Per non-empty confidence bin: its range, mean confidence, accuracy and count (the reliability diagram)."""
    confidence = probs.max(1)
    correct = probs.argmax(1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)  # (lower, upper]; 0 in bin 0
    rows = []
    for b in range(bins):
        mine = which == b
        if mine.any():
            rows.append(
                {
                    "bin_lower": edges[b],
                    "bin_upper": edges[b + 1],
                    "confidence": float(confidence[mine].mean()),
                    "accuracy": float(correct[mine].mean()),
                    "images": int(mine.sum()),
                }
            )
    return pd.DataFrame(rows, columns=["bin_lower", "bin_upper", "confidence", "accuracy", "images"])


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """The mean |accuracy - confidence| over confidence bins, each weighted by its share of the pictures."""
    table = reliability_table(probs, labels, bins)
    return float((table["images"] * (table["accuracy"] - table["confidence"]).abs()).sum() / len(labels))
