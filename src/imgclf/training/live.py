"""Per-epoch metrics to dvclive from any Keras backend.

dvclive's bundled Keras callback subclasses the TensorFlow one; this thin
``keras.callbacks.Callback`` logs through ``dvclive.Live`` and works on
TensorFlow, JAX and PyTorch alike.
"""

from __future__ import annotations

from pathlib import Path

import keras
from dvclive import Live


def open_live(folder: str | Path, resume: bool = False) -> Live:
    """A Live that writes only its own folder: no dvc.yaml edits, no report, no auto-experiment."""
    return Live(str(folder), resume=resume, report=None, save_dvc_exp=False, dvcyaml=False)


def metric_name(key: str) -> str:
    """Keras log keys to dvclive names: ``loss`` -> ``train/loss``, ``val_accuracy`` -> ``val/accuracy``."""
    if key.startswith("val_"):
        return "val/" + key[4:]
    return "train/" + key


class LiveLogger(keras.callbacks.Callback):
    """Log every epoch's train and validation metrics, plus the learning rate, as one dvclive step."""

    def __init__(self, live: Live):
        super().__init__()
        self.live = live

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            name = "learning_rate" if key in ("learning_rate", "lr") else metric_name(key)
            self.live.log_metric(name, float(value))
        self.live.next_step()
