"""``imgclf plan``: size a training run to a time budget, measured on your data and your machine.

    imgclf plan --minutes 60 -S model=resnext -S models.resnext.depth=20
    imgclf plan --minutes 30 -S model=finetune --lr-find

It times a few training steps and a validation pass of the model the params (with the -S changes) name, on
the prepared data (``dvc repro featurize`` first), and prints the ``dvc exp run`` line whose epochs end inside
the budget. The budget becomes a param: nothing depends on the wall clock when the run trains, so it stays
reproducible. ``--lr-find`` also runs the learning-rate range test of ``tools/lr_find.py`` and prints its
suggestion.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import DataError, ParamsError
from ..params import PARAMS_FILE, parse_params, read_yaml
from .lr_find import lr_find, report

# Seconds a train stage spends besides its epochs (start-up, loading, building, the first epoch's tracing
# beyond a measured step): measured from the train stages of this project's runs, rounded up.
STAGE_OVERHEAD_S = 30.0


def with_changes(path: Path, changes: list[str]):
    """params.yaml with ``-S key=value`` changes (values read as YAML, as DVC writes them), validated."""
    raw = read_yaml(Path(path).read_text())
    for change in changes:
        key, sep, value = change.partition("=")
        if not sep:
            raise ParamsError(f"-S {change!r}: write key=value, as dvc exp run -S does")
        *sections, name = key.split(".")
        target = raw
        for part in sections:
            if not isinstance(target.get(part), dict):
                raise ParamsError(f"-S {change!r}: no section {part!r} in {path}")
            target = target[part]
        target[name] = read_yaml(value)
    return parse_params(raw, f"{path} with -S changes")


def step_seconds(model, batches, steps: int) -> tuple[float, float]:
    """(median seconds per training step after two warm-up steps, seconds of the warm-up: the tracing).

    Timed through ``fit``, as the train stage runs: on this project's CPU runs
    ``train_on_batch`` steps were 5-10% faster than the epochs that followed
    (docs/measured.md, the planner's predictions).
    """
    import keras

    ends: list[float] = []
    clock = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter()))
    n = min(steps + 2, len(batches))
    start = time.perf_counter()
    model.fit(batches, epochs=1, steps_per_epoch=n, shuffle=False, verbose=0, callbacks=[clock])
    if n < 3:  # too few batches to tell the tracing from the steps
        return (ends[-1] - start) / n, 0.0
    return statistics.median(np.diff(ends[1:])), ends[1] - start


def validation_seconds(model, batches, steps: int = 3) -> float:
    """Seconds to score the whole validation split, from a few timed batches."""
    model.predict_on_batch(batches[0][0])
    times = []
    for i in range(min(steps, len(batches))):
        start = time.perf_counter()
        model.predict_on_batch(batches[i][0])
        times.append(time.perf_counter() - start)
    return statistics.median(times) * len(batches)


def _batches(spec, recipe, params, split_dir: Path, features_dir: Path):
    from ..data.arrays import read_classes
    from ..training.batches import Batches
    from ..training.trainers import read_inputs

    classes = len(read_classes(split_dir))
    (x, y), (xv, yv) = (read_inputs(spec.inputs, split_dir, features_dir, s) for s in ("train", "val"))
    return (
        Batches(x, y, classes, recipe.batch_size, params.seed),
        Batches(xv, yv, classes, recipe.batch_size),
        x.shape[1:],
    )


def _model(name: str, spec, recipe, params, split_dir: Path, features_dir: Path, shape):
    """The model ``name`` trains (fine-tuning: its phase 2, backbone and a fresh head), built for the data."""
    from ..data.arrays import read_classes, read_split
    from ..training.spec import BuildContext

    classes = len(read_classes(split_dir))
    if name != "finetune":
        stats = (
            {"embedding_mean": np.zeros(shape), "embedding_variance": np.ones(shape)}
            if spec.inputs == "embeddings"
            else {"train_images": read_split(split_dir, "train")[0]}
        )
        return spec.build(recipe, BuildContext(tuple(shape), classes, params.seed, **stats))
    from ..features.manifest import FeatureManifest
    from ..models.finetune import finetune_backbone, finetune_model
    from ..models.head import SPEC as HEAD

    manifest = FeatureManifest.load(features_dir)
    head = HEAD.build(
        recipe.head,
        BuildContext(
            (manifest.embedding_dim,),
            classes,
            params.seed,
            embedding_mean=np.zeros(manifest.embedding_dim),
            embedding_variance=np.ones(manifest.embedding_dim),
        ),
    )
    return finetune_model(
        manifest,
        finetune_backbone(manifest, recipe.fine_tune_at, params.seed, recipe.batchnorm),
        head,
        shape[0],
        recipe.augment,
        params.seed,
        recipe.batchnorm,
    )


def measure(params, split_dir: Path, features_dir: Path, steps: int = 12, find_lr: bool = False) -> dict:
    """Seconds per step and per epoch (validation included) of ``params.model``'s training on this data."""
    from ..models.registry import MODELS

    name, spec = params.model, MODELS[params.model]
    if spec.train is not None and spec.build is None and name != "finetune":
        raise ParamsError(f"model {name!r} trains without epochs (scikit-learn); it needs no plan")
    recipe = params.recipe
    if name == "finetune":
        from ..features.manifest import FeatureManifest

        recipe = recipe.resolved(FeatureManifest.load(features_dir).backbone)
    from ..runtime import dtype_policy
    from ..training.trainers import precision_policy

    # Timed in the precision the run trains in: on a CPU with AVX512-BF16, mixed_bfloat16 trains airbench
    # 1.26x as fast as float32 and the MobileNets 0.7x (docs/benchmarks.md, section 2c).
    policy = precision_policy(params.train.mixed_precision)
    with dtype_policy(policy):
        timing = epoch_timing(name, spec, recipe, params, split_dir, features_dir, steps)
        # Fine-tuning's phase 1, the head on the cached embeddings, runs before the epochs sized: all its
        # epochs (an upper bound where its patience stops it early). Measured on a 45,000-picture run: 64 s.
        head_s = head_phase_seconds(recipe.head, params, split_dir, features_dir, steps) if name == "finetune" else 0.0
        found = {}
        if find_lr:
            model = _model(name, spec, recipe, params, split_dir, features_dir, timing.shape)
            found = lr_find(model, timing.train, recipe)
    return {
        "recipe": recipe,
        "precision": policy,
        "steps_per_epoch": len(timing.train),
        "step_s": timing.step_s,
        "epoch_s": timing.epoch_s,
        "warmup_s": timing.warmup_s,
        "head_s": head_s,
        "images": timing.train.num_images,
        "lr_find": found,
    }


class EpochTiming(NamedTuple):
    """The training batches and input shape timed; seconds per step, of the first steps' tracing, per epoch."""

    train: object
    shape: tuple
    step_s: float
    warmup_s: float
    epoch_s: float  # validation included


def epoch_timing(name: str, spec, recipe, params, split_dir: Path, features_dir: Path, steps: int) -> EpochTiming:
    """Times ``name``'s training on the prepared data as the train stage runs it: ``fit`` steps, then validation."""
    from ..training.fit import compile_for

    train, val, shape = _batches(spec, recipe, params, split_dir, features_dir)
    model = compile_for(
        _model(name, spec, recipe, params, split_dir, features_dir, shape), recipe, params.train, len(train)
    )
    step_s, warmup_s = step_seconds(model, train, steps)
    return EpochTiming(train, shape, step_s, warmup_s, step_s * len(train) + validation_seconds(model, val))


def head_phase_seconds(head_recipe, params, split_dir: Path, features_dir: Path, steps: int) -> float:
    """Seconds of fine-tuning's phase 1 (``head_recipe.epochs`` on the embeddings), timed as the epochs are."""
    from ..models.registry import MODELS

    timing = epoch_timing("head", MODELS["head"], head_recipe, params, split_dir, features_dir, steps)
    return timing.warmup_s + head_recipe.epochs * timing.epoch_s


def plan(minutes: float, measured: dict, key: str) -> dict:
    """Epochs that end inside ``minutes``, and the minutes they are predicted to take."""
    fixed_s = STAGE_OVERHEAD_S + measured["warmup_s"] + measured.get("head_s", 0.0)
    epochs = max(1, int((minutes * 60 - fixed_s) // measured["epoch_s"]))
    predicted = (fixed_s + epochs * measured["epoch_s"]) / 60
    return {"epochs": epochs, "predicted_minutes": round(predicted, 1), "fits": predicted <= minutes, "key": key}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, required=True, help="the budget for the train stage")
    parser.add_argument(
        "-S",
        dest="changes",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a params change, as dvc exp run -S takes it (repeatable)",
    )
    parser.add_argument("--lr-find", action="store_true", help="also run a learning-rate range test")
    parser.add_argument("--steps", type=int, default=12, help="training steps timed (default 12)")
    parser.add_argument("--split", default="data/split")
    parser.add_argument("--features", default="data/features")


def run(args: argparse.Namespace) -> None:
    if args.minutes <= 0:
        raise ParamsError(f"--minutes must be above 0; got {args.minutes:g}")
    params = with_changes(Path(PARAMS_FILE), args.changes)
    split_dir, features_dir = Path(args.split), Path(args.features)
    if not (split_dir / "classes.json").exists() or not (features_dir / "manifest.json").exists():
        raise DataError(f"{split_dir} or {features_dir} is missing: prepare the data first (`dvc repro featurize`)")
    from ..runtime import start_keras

    start_keras(params.train.backend)
    measured = measure(params, split_dir, features_dir, args.steps, args.lr_find)
    key = f"models.{params.model}.epochs"
    sized = plan(args.minutes, measured, key)
    changes = [c for c in args.changes if not c.startswith(f"{key}=")]
    print(
        f"plan: {params.model} on {measured['images']:,} training pictures: {measured['step_s']:.3f} s per step of "
        f"{measured['recipe'].batch_size} in {measured['precision']} "
        f"({measured['recipe'].batch_size / measured['step_s']:.0f} pictures/s), "
        f"{measured['epoch_s']:.0f} s per epoch with validation, {measured['warmup_s']:.0f} s of tracing"
    )
    if measured["head_s"]:
        print(
            f"plan: phase 1, the head on the cached embeddings ({measured['recipe'].head.epochs} epochs at most): "
            f"{measured['head_s']:.0f} s before the epochs sized"
        )
    if measured["lr_find"]:
        print(report(measured["lr_find"], key.rsplit(".", 1)[0]))
    verdict = "" if sized["fits"] else " (one epoch does not fit: the budget is too short)"
    print(
        f"plan: {sized['epochs']} epoch(s) in {args.minutes:g} minutes, predicted {sized['predicted_minutes']} minutes for the train stage{verdict}"
    )
    print(" ".join(["dvc exp run", *(f"-S {c}" for c in changes), f"-S {key}={sized['epochs']}"]))
