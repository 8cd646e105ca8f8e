"""Rank experiments and commits by test top-1, one table and one chart panel per test set.

    imgclf leaderboard                       # the workspace, HEAD and its experiments
    imgclf leaderboard --rev main --rev v1   # chosen commits and their experiments
    imgclf leaderboard --all-commits         # (python -m imgclf leaderboard works too)
    imgclf leaderboard --by-run              # one row per run instead of per group of seeds

Runs that differ only in ``seed`` are one group: mean ± std and n of top-1,
top-5 and macro F1, ranked by the mean. A single run's top-1 is not a result.
A result is counted once however many names point at it (the workspace and
HEAD, a tag and its commit, commits that carry the same metrics), and params
that do not change the model or its scores (``export.*``, shards, another
model's recipe) do not split a group. A recipe left at ``auto`` counts as what
it became (eval.json's ``train.recipe_used``), so it groups with runs that set
the same values by hand; a run evaluated before evaluate wrote it (247abf2)
still reads ``auto`` and stands apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import PipelineError
from .runs import NUMBERS, SCORES, experiment_rows, run_record

SHOWN = ("top1", "top5", "macro_f1")  # reported as mean ± std over seeds
RECIPE_KEYS = ("epochs", "batch_size", "optimizer", "learning_rate", "schedule", "sam_rho", "class_weight")
DASH = "–"  # a spread that one run cannot have
# Params that change neither the trained model nor its test scores: runs differing only in these are one result.
INERT = ("export.", "features.shards", "evaluate.gallery_size", "train.backend")
NAME_ORDER = {"experiment": 0, "commit": 1, "workspace": 2}  # which name a result shown under several keeps


def param_keys() -> list[str]:
    """Every dotted key of params.yaml, from the params declarations."""
    from ..params import Params

    flat: dict = {}

    def walk(prefix: str, tree: dict) -> None:
        for key, value in tree.items():
            walk(f"{prefix}{key}.", value) if isinstance(value, dict) else flat.setdefault(f"{prefix}{key}", value)

    walk("", dataclasses.asdict(Params()))
    return list(flat)


def normalized(value):
    """exp_show gives a whole-number param as a float where another run lacks it (40.0 for 40)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def relevant(config: dict) -> dict:
    """The params a run's result depends on: without INERT keys and without the recipes of other models."""
    model = config.get("model")
    return {
        key: normalized(value)
        for key, value in config.items()
        if not key.startswith(INERT) and not (key.startswith("models.") and not key.startswith(f"models.{model}."))
    }


def distinct(records: list[dict]) -> list[dict]:
    """Each result once: the same relevant params and the same scores are the same run, whatever its name."""
    kind = lambda r: "workspace" if r["rev"] == "workspace" else ("experiment" if r["name"] != r["rev"] else "commit")  # noqa: E731
    kept: dict[str, dict] = {}
    for record in sorted(records, key=lambda r: NAME_ORDER[kind(r)]):
        key = json.dumps([relevant(record["config"]), [record[s] for s in SCORES]], sort_keys=True, default=str)
        kept.setdefault(key, record)
    return list(kept.values())


def runs(rows: list[dict]) -> pd.DataFrame:
    """One record per distinct run with test metrics."""
    keys = param_keys()
    records = distinct([r for r in (run_record(row, keys) for row in rows) if r is not None])
    table = pd.DataFrame(records)
    if table.empty:
        raise PipelineError("no experiment or commit has metrics/eval.json yet; run `dvc repro` or `dvc exp run` first")
    for column in NUMBERS:  # anything else a run's files hold there counts as missing
        table[column] = pd.to_numeric(table[column], errors="coerce")
    table["seed"] = table["seed"].map(lambda v: None if v is None or pd.isna(v) else int(v)).astype("Int64")
    table["group"] = [
        json.dumps({k: v for k, v in relevant(c).items() if k != "seed"}, sort_keys=True, default=str)
        for c in table["config"]
    ]
    table["recipe"] = recipes(table)
    table["setup"] = setups(table)
    return table


def shown_value(value) -> str:
    return str(normalized(value))


def setups(table: pd.DataFrame) -> list[str]:
    """Per run, the params outside the model's recipe whose values differ between runs on its test set
    (``features.backbone=mobilenet``, ``data.image_size=64``): what the rows were built on."""
    configs = [
        {k: v for k, v in relevant(c).items() if k != "seed" and not k.startswith("models.")} for c in table["config"]
    ]
    shown = [""] * len(table)
    for _, part in table.groupby(["dataset", "test_images"], sort=False, dropna=False):
        rows = [table.index.get_loc(i) for i in part.index]
        keys = sorted({k for i in rows for k in configs[i]})
        varying = [
            k for k in keys if k != "model" and len({json.dumps(configs[i].get(k), default=str) for i in rows}) > 1
        ]
        for i in rows:
            shown[i] = ", ".join(f"{k}={shown_value(configs[i].get(k))}" for k in varying)
    return shown


def recipes(table: pd.DataFrame) -> list[str]:
    """Per run, the main recipe keys, and any other key of its model's recipe whose value differs between
    runs of that model on its test set (``label_smoothing=0.1``, ``batchnorm=adapted``): two rows that
    read alike have the same recipe."""
    shown = [""] * len(table)
    for (_, _, model), part in table.groupby(["dataset", "test_images", "model"], sort=False, dropna=False):
        rows = [table.index.get_loc(i) for i in part.index]
        prefix = f"models.{model}."
        keys = sorted({k[len(prefix) :] for i in rows for k in table["config"].iloc[i] if k.startswith(prefix)})
        varying = [
            k
            for k in keys
            if k not in RECIPE_KEYS
            and len({json.dumps(normalized(table["config"].iloc[i].get(prefix + k)), default=str) for i in rows}) > 1
        ]
        for i in rows:
            shown[i] = recipe_of(table["config"].iloc[i], varying)
    return shown


def recipe_of(config: dict, extra: list[str] = ()) -> str:
    model = config.get("model")
    return ", ".join(
        f"{k}={shown_value(config[f'models.{model}.{k}'])}"
        for k in (*RECIPE_KEYS, *extra)
        if config.get(f"models.{model}.{k}") is not None
    )


def spread(values: pd.Series) -> tuple[float, float | None]:
    values = values.dropna().astype(float)
    return float(values.mean()), (float(values.std(ddof=1)) if len(values) > 1 else None)


def grouped(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (test set, params but seed): mean and std of the scores, n, the runs and seeds."""
    rows = []
    for (dataset, images, _), part in table.groupby(["dataset", "test_images", "group"], sort=False, dropna=False):
        row = {"dataset": dataset, "test_images": images, "runs": ", ".join(map(str, part["name"])), "n": len(part)}
        for score in SHOWN:
            row[f"{score}_mean"], row[f"{score}_std"] = spread(part[score])
        row.update(
            model=part["model"].iloc[0],
            seeds=", ".join(str(s) for s in sorted(part["seed"].dropna().astype(int).unique())),
            recipe=part["recipe"].iloc[0],
            setup=part["setup"].iloc[0],
            train_seconds=part["train_seconds"].astype(float).mean(),
            images_per_second=part["images_per_second"].astype(float).mean(),
            test_sets=part["test_set"].nunique(),
            device=part["device"].iloc[0],
        )
        rows.append(row)
    return pd.DataFrame(rows)


def ranked(table: pd.DataFrame, score: str) -> pd.DataFrame:
    """Rank within each test set, best first."""
    table = table.sort_values(["dataset", "test_images", score], ascending=[True, True, False], kind="stable")
    table.insert(0, "rank", table.groupby(["dataset", "test_images"]).cumcount() + 1)
    return table.reset_index(drop=True)


def cell(mean, std) -> str:
    if mean is None or pd.isna(mean):
        return ""
    return f"{mean:.4f} ± {DASH if std is None or pd.isna(std) else f'{std:.4f}'}"


def markdown(table: pd.DataFrame, by_run: bool) -> str:
    """One Markdown table per test set."""
    parts = []
    for (dataset, images), part in table.groupby(["dataset", "test_images"], sort=False):
        parts.append(f"## {dataset}, {int(images) if pd.notna(images) else '?'} test pictures\n")
        if by_run:
            shown = part[
                ["rank", "name", "rev", "model", "seed", *SHOWN, "tta", "train_seconds", "setup", "recipe"]
            ].copy()
            for score in SHOWN:
                shown[score] = shown[score].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
        else:
            shown = part[["rank", "model", "n", "seeds"]].copy()
            for score in SHOWN:
                shown[score] = [cell(m, s) for m, s in zip(part[f"{score}_mean"], part[f"{score}_std"])]
            shown["train_minutes"] = (part["train_seconds"] / 60).map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
            shown["pictures_per_s"] = part["images_per_second"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
            shown[["runs", "setup", "recipe", "device", "test_sets"]] = part[
                ["runs", "setup", "recipe", "device", "test_sets"]
            ]
        rows = [
            "| " + " | ".join("" if pd.isna(v) else str(v) for v in r) + " |" for r in shown.itertuples(index=False)
        ]
        parts.append("\n".join(["| " + " | ".join(shown.columns) + " |", "|" + " --- |" * len(shown.columns), *rows]))
        parts.append("")
    note = (
        ""
        if by_run
        else (
            "Rows group runs that differ only in `seed`: mean ± sample std over n runs (– for one run), ranked by "
            "the mean top-1; train minutes and pictures/s are the runs' mean (the train stage's `metrics/train.json`). "
            "`test_sets` > 1: the seeds held out different test pictures.\n"
        )
    )
    return "\n".join(parts) + "\n" + note


def chart_figure(table: pd.DataFrame, by_run: bool):
    """One panel per test set: a dot per row (mean top-1, std as an error bar), best on top.

    Dots, not bars: the axis is zoomed to the scores (0.87-0.91 on a CIFAR-10 leaderboard), where bars starting
    off zero would draw false ratios; the axis label says where it starts.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(table.groupby(["dataset", "test_images"], sort=False))
    heights = [max(1.6, 0.38 * len(part) + 0.9) for _, part in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, sum(heights)), squeeze=False, height_ratios=heights)
    for ax, ((dataset, images), part) in zip(axes[:, 0], panels):
        part = part.iloc[::-1]  # best at the top
        mean = part["top1"] if by_run else part["top1_mean"]
        std = None if by_run else part["top1_std"].fillna(0.0)
        labels = [f"{m} ({n})" for m, n in zip(part["model"], part["name"] if by_run else part["runs"])]
        labels = [label if len(label) <= 48 else label[:45] + "..." for label in labels]
        ax.errorbar(mean, np.arange(len(part)), xerr=std, fmt="o", color="#4c78a8", ecolor="#333333", capsize=3)
        ax.set_yticks(np.arange(len(part)), labels, fontsize=8)
        low = max(0.0, float(np.nanmin(mean)) - 0.1)
        ax.set_xlim(low, min(1.0, float(np.nanmax(mean)) + 0.05))
        ax.set_ylim(-0.5, len(part) - 0.5)
        ax.set_title(f"{dataset}: {int(images) if pd.notna(images) else '?'} test pictures", fontsize=9)
        starts = f"; the axis starts at {low:.2f}" if low > 0 else ""
        ax.set_xlabel("test top-1" + ("" if by_run else " (mean ± std over seeds)") + starts, fontsize=8)
        ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def chart(table: pd.DataFrame, path: Path, by_run: bool) -> None:
    import matplotlib.pyplot as plt

    fig = chart_figure(table, by_run)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def build(rows: list[dict], out: Path, by_run: bool = False) -> pd.DataFrame:
    from ..io import atomic_file, write_table, write_text

    table = runs(rows)
    table = ranked(table, "top1") if by_run else ranked(grouped(table), "top1_mean")
    write_text(out / "leaderboard.md", markdown(table, by_run))
    write_table(out / "leaderboard.csv", table.drop(columns=["config", "group"], errors="ignore"))
    with atomic_file(out / "leaderboard.png") as tmp:
        chart(table, tmp, by_run)
    return table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rev", action="append", default=[], help="a commit and its experiments (repeatable)")
    parser.add_argument("--all-commits", action="store_true", help="every commit in the repository")
    parser.add_argument("--by-run", action="store_true", help="one row per run, not per group of seeds")
    parser.add_argument("--out", default="leaderboard", help="folder for leaderboard.{md,csv,png}")


def run(args: argparse.Namespace) -> None:
    from ..io import check_writable

    check_writable(args.out, folder=True)
    table = build(experiment_rows(args.rev, args.all_commits), Path(args.out), args.by_run)
    print(markdown(table, args.by_run))
    print(f"leaderboard: {len(table)} rows -> {args.out}/leaderboard.md, .csv, .png")
