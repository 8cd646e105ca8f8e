"""``imgclf plan``: size a training run to a time budget, measured on your data and your machine.

    imgclf plan --minutes 60 -S model=resnext -S recipes/resnext.yaml:depth=20
    imgclf plan --minutes 30 -S model=finetune --lr-find

It trains the model the params (with the -S changes) name for a few short epochs as the train stage does
(``tools/measure.py``), on the prepared data, which must be what those params describe (``dvc repro
featurize`` first), and prints the ``dvc exp run`` line whose epochs end inside the budget. The budget
becomes a param: nothing depends on the wall clock when the run trains, so it stays reproducible. ``--lr-find`` also runs the learning-rate range test of ``tools/lr_find.py`` and prints its
suggestion.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..errors import DataError, ParamsError
from ..params import PARAMS_FILE, read_yaml
from .lr_find import report
from .measure import measure

# Seconds a train stage spends besides its epochs (start-up, loading, building, the first epoch's tracing
# beyond a measured step): measured from the train stages of this project's runs, rounded up.
STAGE_OVERHEAD_S = 30.0
NOISY = 0.2  # a spread of step times past which the plan says the measurement was noisy


def with_changes(path: Path, changes: list[str]):
    """params.yaml (and the models' recipes/<model>.yaml) with ``-S`` changes as ``dvc exp run -S`` takes them:
    ``key=value`` in params.yaml, ``recipes/<model>.yaml:key=value`` in a model's file (``+key`` adds a key,
    ``++key`` adds or sets one); values read as YAML, as DVC writes them; validated."""
    from ..params import parse_tree, read_tree

    raw, files = read_tree(path)
    for change in changes:
        target, key, value = _change(change, raw, files)
        *sections, name = key.split(".")
        for part in sections:
            if not isinstance(target.get(part), dict):
                raise ParamsError(f"-S {change!r}: no section {part!r} there")
            target = target[part]
        target[name] = read_yaml(value)
    return parse_tree(raw, files, f"{path} with -S changes")


def _change(change: str, raw: dict, files: dict) -> tuple[dict, str, str]:
    """(the mapping a ``-S`` change edits, its dotted key, its value text)."""
    where, colon, rest = change.partition(":") if ".yaml:" in change else ("", "", change)
    key, sep, value = rest.partition("=")
    if not sep:
        raise ParamsError(f"-S {change!r}: write key=value, as dvc exp run -S does")
    if not colon:
        return raw, key, value
    model = Path(where).stem
    if Path(where).parent.as_posix() != "recipes" or model not in files:
        raise ParamsError(f"-S {change!r}: a params file is recipes/<model>.yaml, one of {', '.join(files)}")
    files[model] = files[model] or {}
    return files[model], key.lstrip("+"), value


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
    from ..training.job import resolve_job

    job = resolve_job(params.model, params.model_recipe, params.seed, params.train)
    measured = measure(job, split_dir, features_dir, args.steps, args.lr_find)
    setting = f"recipes/{params.model}.yaml:++"  # sets a key of the model's file, listed there or not
    sized = plan(args.minutes, measured, f"{setting}epochs")
    epochs = (f"recipes/{params.model}.yaml:{plus}epochs=" for plus in ("", "+", "++"))
    changes = [c for c in args.changes if not c.startswith((*epochs, "recipe.epochs="))]
    print(
        f"plan: {params.model} on {measured['images']:,} training pictures: {measured['step_s']:.3f} s per step of "
        f"{measured['batch_size']} in {measured['precision']} "
        f"({measured['batch_size'] / measured['step_s']:.0f} pictures/s; {measured['steps_timed']} steps "
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
        print(report(measured["lr_find"], setting))
    verdict = "" if sized["fits"] else " (one epoch does not fit: the budget is too short)"
    print(
        f"plan: {sized['epochs']} epoch(s) in {args.minutes:g} minutes, predicted {sized['predicted_minutes']} "
        f"minutes for the train stage ({sized['training_minutes']} of training, as train.json counts, and about "
        f"{STAGE_OVERHEAD_S:.0f} s of start-up){verdict}"
    )
    print(" ".join(["dvc exp run", *(f"-S {c}" for c in changes), f"-S {setting}epochs={sized['epochs']}"]))
