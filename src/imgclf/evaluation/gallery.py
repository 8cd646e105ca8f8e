"""metrics/misclassified.png: the test pictures the model got wrong with the most confidence."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SHOWN_SIDE = 96  # px: a 32x32 picture is drawn 3x larger, pixelated rather than blurred
COLUMNS = 8


def confident_mistakes(probs: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Indices of up to ``count`` wrong predictions, the most confident first (ties: lower index first)."""
    predicted = probs.argmax(1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probs[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:count]


def upscaled(image: np.ndarray, side: int = SHOWN_SIDE) -> np.ndarray:
    """Nearest-neighbour enlargement to at least ``side`` px, so small pictures stay readable."""
    factor = max(1, math.ceil(side / max(image.shape[:2])))
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def draw_gallery(
    path: Path,
    images: np.ndarray,
    probs: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    count: int,
    names: list[str] | None = None,
) -> int:
    """Draw the most confident mistakes, each titled ``true → predicted (p)`` (and its file); return how many."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picked = confident_mistakes(probs, labels, count)
    columns = max(1, min(COLUMNS, len(picked)))
    rows = max(1, math.ceil(len(picked) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), picked):
        predicted = int(probs[i].argmax())
        ax.imshow(upscaled(np.asarray(images[i])), interpolation="nearest")
        title = f"{classes[labels[i]]} → {classes[predicted]} ({probs[i, predicted]:.2f})"
        if names is not None:
            title += "\n" + Path(names[i]).name
        ax.set_title(title, fontsize=7)
    if not len(picked):
        axes[0, 0].text(0.5, 0.5, f"no mistakes on {len(labels)} test pictures", ha="center", va="center")
    fig.suptitle(f"The {len(picked)} most confident mistakes: true → predicted (probability)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return len(picked)
