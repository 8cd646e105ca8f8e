"""How long a model's training takes here, on the prepared data: what ``imgclf plan`` sizes a run with.

The model trains for ``TIMED_EPOCHS`` short epochs through ``training.fit.fit_classifier`` itself, with its
callbacks, dvclive log and checkpoints (in a temporary folder), so what an epoch costs besides its steps is
in the figure.
"""

from __future__ import annotations

import dataclasses
import itertools
import statistics
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import ParamsError
from .lr_find import lr_find


def _batches(spec, recipe, job, split_dir: Path, features_dir: Path):
    from ..data.arrays import read_classes
    from ..training.batches import Batches
    from ..training.trainers import read_inputs

    classes = len(read_classes(split_dir))
    (x, y), (xv, yv) = (read_inputs(spec.inputs, split_dir, features_dir, s) for s in ("train", "val"))
    return (
        Batches(x, y, classes, recipe.batch_size, job.seed),
        Batches(xv, yv, classes, recipe.batch_size),
        x.shape[1:],
    )


def _model(name: str, spec, recipe, job, split_dir: Path, features_dir: Path, shape):
    """The model ``name`` trains (fine-tuning: its phase 2, backbone and a fresh head), built for the data."""
    from ..data.arrays import read_classes, read_split
    from ..models.spec import BuildContext

    classes = len(read_classes(split_dir))
    if name != "finetune":
        stats = (
            {"embedding_mean": np.zeros(shape), "embedding_variance": np.ones(shape)}
            if spec.inputs == "embeddings"
            else {"train_images": read_split(split_dir, "train")[0]}
        )
        return spec.build(recipe, BuildContext(tuple(shape), classes, job.seed, **stats))
    from ..features.manifest import FeatureManifest
    from ..models.finetune import finetune_backbone, finetune_model
    from ..models.head import SPEC as HEAD

    manifest = FeatureManifest.load(features_dir)
    head = HEAD.build(
        recipe.head,
        BuildContext(
            (manifest.embedding_dim,),
            classes,
            job.seed,
            embedding_mean=np.zeros(manifest.embedding_dim),
            embedding_variance=np.ones(manifest.embedding_dim),
        ),
    )
    return finetune_model(
        manifest,
        finetune_backbone(manifest, recipe.fine_tune_at, recipe.batchnorm),
        head,
        shape[0],
        recipe.augment,
        job.seed,
        recipe.batchnorm,
    )


def measure(job, split_dir: Path, features_dir: Path, steps: int = 10, find_lr: bool = False) -> dict:
    """Seconds per step and per epoch (validation included) of the job's training on this data."""
    from ..models.registry import MODELS

    name, spec = job.model, MODELS[job.model]
    if spec.trainer == "linear_probe":
        raise ParamsError(f"model {name!r} trains without epochs (scikit-learn); it needs no plan")
    recipe = job.recipe
    if name == "finetune":
        from ..features.manifest import FeatureManifest

        recipe = recipe.resolved(FeatureManifest.load(features_dir).backbone)
    # Timed in the precision the run trains in: on a CPU with AVX512-BF16, mixed_bfloat16 trains airbench
    # 1.26x as fast as float32 and the MobileNets 0.7x (docs/benchmarks.md, section 2c).
    with job.building():
        timing = epoch_timing(name, spec, recipe, job, split_dir, features_dir, steps)
        # Fine-tuning's phase 1, the head on the cached embeddings, runs before the epochs sized: all its
        # epochs (an upper bound where its patience stops it early). Measured on a 45,000-picture run: 64 s.
        head_s = head_phase_seconds(recipe.head, job, split_dir, features_dir, steps) if name == "finetune" else 0.0
        found = {}
        if find_lr:
            model = _model(name, spec, recipe, job, split_dir, features_dir, timing.shape)
            found = lr_find(model, timing.train, recipe)
    return {
        "recipe": recipe,
        "precision": job.runtime.precision,
        "steps_per_epoch": len(timing.train),
        "step_s": timing.step_s,
        "epoch_s": timing.epoch_s,
        "warmup_s": timing.warmup_s,
        "overhead_s": timing.overhead_s,
        "spread": timing.spread,
        "steps_timed": timing.steps_timed,
        "head_s": head_s,
        "images": timing.train.num_images,
        "batch_size": timing.train.batch_size,
        "lr_find": found,
    }


class EpochTiming(NamedTuple):
    """What ``timed_epochs`` measured of a model's training; the run's epochs are ``len(train)`` steps each."""

    train: object  # the run's training batches
    shape: tuple
    step_s: float  # median seconds of a training step
    warmup_s: float  # the first epoch's tracing, beyond a timed epoch
    short_epoch_s: float  # a timed epoch of ``short_steps`` steps, whole: its steps, validation, logging, checkpoint
    short_steps: int
    overhead_s: float  # of a timed epoch, from its last step's end to the next epoch's start: validation, logging,
    # the checkpoint save (on a small folder, more than its steps)
    spread: float  # interquartile range of the step times over their median: how noisy the measurement was
    steps_timed: int

    @property
    def epoch_s(self) -> float:
        return self.short_epoch_s + (len(self.train) - self.short_steps) * self.step_s


TIMED_EPOCHS = 4  # the first pays for tracing; the second and third are timed whole, start to start; the last ends


def timed_epochs(model, recipe, jit_compile: bool, train, val, steps: int) -> tuple:
    """(step_s, warmup_s, short_epoch_s, short_steps, overhead_s, spread, steps timed) of ``model`` trained as
    the train stage trains it.

    Four epochs of ``fit_classifier`` with its callbacks, dvclive log and checkpoint (in a temporary folder),
    each the first ``steps`` batches of a run's epoch (the whole epoch when it is shorter). The middle two are
    timed whole, from their start to the next one's, so what an epoch costs besides its steps (validation,
    logging, the checkpoint save) is in the figure; a longer epoch adds the median step for each step more.
    """
    import tempfile

    import keras

    from ..progress import silenced
    from ..training.batches import FirstBatches
    from ..training.fit import fit_classifier

    count = min(steps, len(train))
    begins, batch_ends = [], []
    clock = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: begins.append(time.perf_counter()),
        on_train_batch_end=lambda batch, logs: batch_ends.append((len(begins), time.perf_counter())),
    )
    timed = dataclasses.replace(recipe, epochs=TIMED_EPOCHS, warmup_epochs=0.0, patience=0)
    with tempfile.TemporaryDirectory(prefix="imgclf-plan-") as tmp, silenced():
        folder = Path(tmp)
        short = FirstBatches(train, count)
        start = time.perf_counter()
        fit_classifier(
            model, timed, jit_compile, short, val, folder / "live", "plan", folder / "ckpt", callbacks=(clock,)
        )
    within = [b - a for (ea, a), (eb, b) in itertools.pairwise(batch_ends) if ea == eb and ea > 1]
    firsts = [end - begins[epoch - 1] for epoch, end in batch_ends if epoch > 1]  # one-step epochs: from the start
    steps_s = within or firsts
    step_s = statistics.median(steps_s)
    short_epoch_s = statistics.mean(b - a for a, b in itertools.pairwise(begins[1:]))
    last_ends = {epoch: end for epoch, end in batch_ends}  # epoch (1-based) -> its last step's end
    overhead_s = statistics.mean(begins[epoch] - last_ends[epoch] for epoch in (2, 3))
    warmup_s = max(0.0, begins[1] - start - short_epoch_s)
    q1, _, q3 = statistics.quantiles(steps_s, n=4) if len(steps_s) > 1 else (step_s, step_s, step_s)
    return step_s, warmup_s, short_epoch_s, count, overhead_s, (q3 - q1) / step_s, len(steps_s)


def epoch_timing(name: str, spec, recipe, job, split_dir: Path, features_dir: Path, steps: int) -> EpochTiming:
    """Times ``name``'s training on the prepared data as the train stage runs it (``timed_epochs``), at the batch
    it trains at (``fitted_batch``)."""
    from ..data.arrays import read_split
    from ..training.fitted import fitted_batch

    recipe = fitted_batch(recipe, len(read_split(split_dir, "train")[1]), f"models.{name}")
    train, val, shape = _batches(spec, recipe, job, split_dir, features_dir)
    model = _model(name, spec, recipe, job, split_dir, features_dir, shape)
    return EpochTiming(train, shape, *timed_epochs(model, recipe, job.runtime.jit_compile, train, val, steps))


def head_phase_seconds(head_recipe, job, split_dir: Path, features_dir: Path, steps: int) -> float:
    """Seconds of fine-tuning's phase 1 (``head_recipe.epochs`` on the embeddings), timed as the epochs are."""
    from ..models.registry import MODELS

    timing = epoch_timing("head", MODELS["head"], head_recipe, job, split_dir, features_dir, steps)
    return timing.warmup_s + head_recipe.epochs * timing.epoch_s
