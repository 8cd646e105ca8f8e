"""Which trainer trains a model: the generic one for a model the registry can build, or the one it names."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from ..models.registry import MODELS
from . import finetune, linear_probe
from .trainers import train_keras

if TYPE_CHECKING:
    from .job import TrainingJob
    from .trained import Trained

TRAINERS = {"finetune": finetune.train, "linear_probe": linear_probe.train}  # ModelSpec.trainer -> trainer


def train_model(
    job: TrainingJob, split_dir: Path, features_dir: Path, out: Path, checkpoints: Path | None = None
) -> Trained:
    """Train ``job.model``; with ``checkpoints``, resume from and save epoch checkpoints there."""
    spec = MODELS[job.model]
    trainer = TRAINERS[spec.trainer] if spec.trainer else functools.partial(train_keras, spec)
    return trainer(job, Path(split_dir), Path(features_dir), Path(out), checkpoints)
