"""metrics/misclassified.png: the test pictures the model got wrong with the most confidence."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SHOWN_SIDE = 96  # px: a 32x32 picture is drawn 3x larger, pixelated rather than blurred
COLUMNS = 8
MIN_SIZE = (6.4, 2.4)  # inches: room for the title and the no-mistakes note however few pictures there are


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


def gallery_figure(
    images: np.ndarray,
    probs: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    count: int,
    names: list[str] | None = None,
):
    """(figure, how many mistakes it shows): the most confident mistakes, titled ``true → predicted (p)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picked = confident_mistakes(probs, labels, count)
    columns = max(1, min(COLUMNS, len(picked)))
    rows = max(1, math.ceil(len(picked) / columns))
    size = (max(MIN_SIZE[0], 2.1 * columns), max(MIN_SIZE[1], 2.4 * rows))
    fig, axes = plt.subplots(rows, columns, figsize=size, squeeze=False)
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
        fig.text(0.5, 0.45, f"No mistakes on the {len(labels)} test pictures", ha="center", va="center", fontsize=10)
    title = f"The {len(picked)} most confident mistakes: true → predicted (probability)" if len(picked) else "Mistakes"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig, len(picked)


def draw_gallery(path: Path, *figure_args, **figure_kwargs) -> int:
    """Save ``gallery_figure(*figure_args, **figure_kwargs)`` as a PNG at ``path``; return how many mistakes it shows."""
    import matplotlib.pyplot as plt

    fig, shown = gallery_figure(*figure_args, **figure_kwargs)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return shown
