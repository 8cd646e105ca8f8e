"""``imgclf plan``: size a training run to a time budget, measured on your data and your machine.

    imgclf plan --minutes 60 -S model=resnext -S models.resnext.depth=20
    imgclf plan --minutes 30 -S model=finetune --lr-find

It trains the model the params (with the -S changes) name for three short epochs as the train stage does
(validation, dvclive, checkpoints), on the prepared data, which must be what those params describe (``dvc
repro featurize`` first), and prints the ``dvc exp run`` line whose epochs end inside the budget. The budget becomes a param: nothing depends on the wall clock when the run trains, so it stays
reproducible. ``--lr-find`` also runs the learning-rate range test of ``tools/lr_find.py`` and prints its
suggestion.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
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
NOISY = 0.2  # a spread of step times past which the plan says the measurement was noisy


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


def measure(params, split_dir: Path, features_dir: Path, steps: int = 10, find_lr: bool = False) -> dict:
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
        "overhead_s": timing.overhead_s,
        "spread": timing.spread,
        "steps_timed": timing.steps_timed,
        "head_s": head_s,
        "images": timing.train.num_images,
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


def timed_epochs(model, recipe, runtime, train, val, steps: int) -> tuple:
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
        fit_classifier(model, timed, runtime, short, val, folder / "live", "plan", folder / "ckpt", callbacks=(clock,))
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


def epoch_timing(name: str, spec, recipe, params, split_dir: Path, features_dir: Path, steps: int) -> EpochTiming:
    """Times ``name``'s training on the prepared data as the train stage runs it (``timed_epochs``)."""
    train, val, shape = _batches(spec, recipe, params, split_dir, features_dir)
    model = _model(name, spec, recipe, params, split_dir, features_dir, shape)
    return EpochTiming(train, shape, *timed_epochs(model, recipe, params.train, train, val, steps))


def head_phase_seconds(head_recipe, params, split_dir: Path, features_dir: Path, steps: int) -> float:
    """Seconds of fine-tuning's phase 1 (``head_recipe.epochs`` on the embeddings), timed as the epochs are."""
    from ..models.registry import MODELS

    timing = epoch_timing("head", MODELS["head"], head_recipe, params, split_dir, features_dir, steps)
    return timing.warmup_s + head_recipe.epochs * timing.epoch_s


def plan(minutes: float, measured: dict, key: str) -> dict:
    """Epochs that end inside ``minutes`` of the train stage, and the minutes they are predicted to take (the
    stage's, and the training's alone, which train.json's seconds count: the fit from its first step)."""
    training_fixed_s = measured["warmup_s"] + measured.get("head_s", 0.0)
    epochs = max(1, int((minutes * 60 - STAGE_OVERHEAD_S - training_fixed_s) // measured["epoch_s"]))
    training_s = training_fixed_s + epochs * measured["epoch_s"]
    predicted = (STAGE_OVERHEAD_S + training_s) / 60
    return {
        "epochs": epochs,
        "predicted_minutes": round(predicted, 1),
        "training_minutes": round(training_s / 60, 1),
        "fits": predicted <= minutes,
        "key": key,
    }


MAX_MINUTES = 7 * 24 * 60  # a week: past it, a plan is a typo or a job for several machines


def check_arguments(args: argparse.Namespace) -> None:
    if not (math.isfinite(args.minutes) and 0 < args.minutes <= MAX_MINUTES):
        raise ParamsError(f"--minutes must be a number of minutes in (0, {MAX_MINUTES}] (a week); got {args.minutes:g}")
    if args.steps < 2:
        raise ParamsError(
            f"--steps must be at least 2 (training steps timed in each of 3 short epochs); got {args.steps}"
        )


def _flat(mapping: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def stale_inputs(params, needs_features: bool, lock: Path = Path("dvc.lock")) -> str | None:
    """Why the prepared data is not what ``params`` describe (dvc.lock's params of the stages that made it
    against them), or None. The planner times the data in data/: another folder's would size another run."""
    from ..params import to_dict

    wanted = _flat(to_dict(params))
    stages = (read_yaml(lock.read_text()) or {}).get("stages", {}) if lock.exists() else {}
    names = ["fetch", "split"] + (
        [n for n in stages if n.startswith("featurize_shard@")] + ["featurize"] if needs_features else []
    )
    target = "featurize" if needs_features else "split"
    for name in names:
        if name not in stages:
            return f"dvc.lock has no stage {name!r}: prepare the data first (`dvc repro {target}`)"
        recorded = _flat(stages[name].get("params", {}).get(PARAMS_FILE, {}))
        for key, value in recorded.items():
            if key in wanted and wanted[key] != value:
                return (
                    f"the data in data/ was prepared with {key}={value!r}, and these params say {wanted[key]!r}: "
                    f"prepare theirs first (`dvc exp run <the same -S> {target}`), then plan"
                )
    return None


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
    parser.add_argument(
        "--steps", type=int, default=10, help="training steps timed in each of 3 short epochs (default 10)"
    )
    parser.add_argument("--split", default="data/split")
    parser.add_argument("--features", default="data/features")


def run(args: argparse.Namespace) -> None:
    check_arguments(args)
    params = with_changes(Path(PARAMS_FILE), args.changes)
    split_dir, features_dir = Path(args.split), Path(args.features)
    from ..models.registry import MODELS

    needs_features = MODELS[params.model].inputs == "embeddings" or params.model == "finetune"
    if not (split_dir / "classes.json").exists() or (needs_features and not (features_dir / "manifest.json").exists()):
        target = "featurize" if needs_features else "split"
        raise DataError(f"{split_dir} or {features_dir} is missing: prepare the data first (`dvc repro {target}`)")
    if problem := stale_inputs(params, needs_features):
        raise DataError(problem)
    from ..runtime import start_keras

    start_keras(params.train.backend)
    measured = measure(params, split_dir, features_dir, args.steps, args.lr_find)
    key = f"models.{params.model}.epochs"
    sized = plan(args.minutes, measured, key)
    changes = [c for c in args.changes if not c.startswith(f"{key}=")]
    print(
        f"plan: {params.model} on {measured['images']:,} training pictures: {measured['step_s']:.3f} s per step of "
        f"{measured['recipe'].batch_size} in {measured['precision']} "
        f"({measured['recipe'].batch_size / measured['step_s']:.0f} pictures/s; {measured['steps_timed']} steps "
        f"timed, spread {measured['spread']:.0%}), {measured['epoch_s']:.1f} s per epoch of "
        f"{measured['steps_per_epoch']} steps with {measured['overhead_s']:.1f} s of validation, logging and "
        f"checkpoint, {measured['warmup_s']:.0f} s of tracing"
    )
    if measured["spread"] > NOISY:
        print(
            f"plan: warning: the step times varied by {measured['spread']:.0%} (interquartile range over the "
            "median): the machine is busy or the steps too few; for a steadier figure rerun with more --steps "
            "when nothing else runs"
        )
    if measured["head_s"]:
        print(
            f"plan: phase 1, the head on the cached embeddings ({measured['recipe'].head.epochs} epochs at most; "
            f"its patience may stop it sooner): {measured['head_s']:.0f} s before the epochs sized"
        )
    if measured["lr_find"]:
        print(report(measured["lr_find"], key.rsplit(".", 1)[0]))
    verdict = "" if sized["fits"] else " (one epoch does not fit: the budget is too short)"
    print(
        f"plan: {sized['epochs']} epoch(s) in {args.minutes:g} minutes, predicted {sized['predicted_minutes']} "
        f"minutes for the train stage ({sized['training_minutes']} of training, as train.json counts, and about "
        f"{STAGE_OVERHEAD_S:.0f} s of start-up){verdict}"
    )
    print(" ".join(["dvc exp run", *(f"-S {c}" for c in changes), f"-S {key}={sized['epochs']}"]))
