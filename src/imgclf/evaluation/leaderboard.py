"""Rank experiments and commits by test top-1: a Markdown table, a CSV and a top-1 vs time chart.

    imgclf leaderboard                       # the workspace, HEAD and its experiments
    imgclf leaderboard --rev main --rev v1   # plus chosen commits and their experiments
    imgclf leaderboard --all-commits         # (python -m imgclf.leaderboard works too)

Reads ``dvc exp show --json``. Rows measured on another dataset or test set
than the top row are kept but marked not comparable.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from ..errors import PipelineError

EVAL_FILE = "metrics/eval.json"
TIMING_FILE = "metrics/train.json"  # training wall time and images/s, written by the train stage
RECIPE_KEYS = ("epochs", "batch_size", "optimizer", "learning_rate", "schedule", "sam_rho")
COLUMNS = [
    "rank",
    "name",
    "rev",
    "model",
    "top1",
    "top5",
    "macro_f1",
    "params",
    "epochs_run",
    "train_seconds",
    "images_per_second",
    "backend",
    "device",
    "precision",
    "dataset",
    "train_images",
    "test_images",
    "test_set",
    "recipe",
    "comparable",
]

COUNT_COLUMNS = ["params", "epochs_run", "train_images", "test_images"]


def dvc_exp_show(revs: list[str], all_commits: bool, cwd: Path | None = None) -> list:
    cmd = [sys.executable, "-m", "dvc", "exp", "show", "--json"]
    cmd += ["-A"] if all_commits else [arg for rev in revs for arg in ("--rev", rev)]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PipelineError(f"`{' '.join(cmd[2:])}` failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


def _short(rev: str) -> str:
    """A 7-character commit hash; the workspace keeps its name."""
    return rev if rev == "workspace" else rev[:7]


def _label(record: dict) -> str:
    """An experiment's name, else its short revision."""
    return record.get("name") or _short(record["rev"])


def _entries(records: list):
    """(name, rev, data) for every commit and experiment in ``dvc exp show --json`` output."""
    for record in records:
        yield _label(record), record["rev"], record.get("data")
        for group in record.get("experiments") or []:
            for exp in group.get("revs", []):
                yield _label(exp), exp["rev"], exp.get("data")


def _recipe(params: dict, model: str | None) -> str:
    recipe = params.get("models", {}).get(model, {}) if model else {}
    return ", ".join(f"{k}={recipe[k]}" for k in RECIPE_KEYS if k in recipe)


def rows(records: list) -> pd.DataFrame:
    """One row per commit or experiment that has test metrics."""
    found, seen = [], set()
    for name, rev, data in _entries(records):
        files = (data or {}).get("metrics") or {}
        metrics = files.get(EVAL_FILE, {}).get("data")
        if not metrics or rev in seen:
            continue
        seen.add(rev)
        params = ((data.get("params") or {}).get("params.yaml") or {}).get("data", {})
        train, run = metrics.get("train", {}), metrics.get("run", {})
        timing = files.get(TIMING_FILE, {}).get("data") or train  # older runs kept it in eval.json
        model = run.get("model") or train.get("model") or params.get("model")
        found.append(
            {
                "name": name,
                "rev": _short(rev),
                "model": model,
                "top1": metrics.get("top1"),
                "top5": metrics.get("top5"),
                "macro_f1": metrics.get("macro_f1"),
                "params": train.get("params"),
                "epochs_run": train.get("epochs_run"),
                "train_seconds": timing.get("seconds"),
                "images_per_second": timing.get("images_per_second"),
                "backend": run.get("backend"),
                "device": run.get("device"),
                "precision": run.get("precision"),
                "dataset": run.get("dataset") or params.get("data", {}).get("dataset"),
                "train_images": run.get("train_images"),
                "test_images": run.get("test_images") or metrics.get("images"),
                "test_set": run.get("test_set"),
                "recipe": _recipe(params, model),
            }
        )
    table = pd.DataFrame(found, columns=[c for c in COLUMNS if c not in ("rank", "comparable")])
    # Counts stay integers where an older run lacks them (plain int64 would turn them into floats).
    return table.astype({c: "Int64" for c in COUNT_COLUMNS})


def rank(table: pd.DataFrame) -> pd.DataFrame:
    """Sort by top-1 and say, per row, whether it was scored on the leader's test set."""
    table = table.sort_values("top1", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    if table.empty:
        table["comparable"] = []
        return table
    leader = table.iloc[0]

    def verdict(row) -> str:
        if row["dataset"] != leader["dataset"]:
            return f"no: dataset {row['dataset']}, not {leader['dataset']}"
        if pd.isna(row["test_set"]) or pd.isna(leader["test_set"]):
            return "unknown: no test-set fingerprint"
        if row["test_set"] != leader["test_set"]:
            return f"no: another test set ({row['test_images']} images)"
        return "yes"

    table["comparable"] = table.apply(verdict, axis=1)
    return table


def markdown(table: pd.DataFrame) -> str:
    shown = table.drop(columns=["test_set"]).copy()
    for column in ("top1", "top5", "macro_f1"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "| " + " | ".join("---" for _ in shown.columns) + " |"
    body = [
        "| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in shown.itertuples(index=False)
    ]
    note = (
        "\nRanked by test top-1. `comparable` says whether a row was scored on the same dataset and test set "
        "(by fingerprint) as the top row; compare timings only between rows on the same device.\n"
    )
    return "\n".join([header, rule, *body]) + "\n" + note


def chart(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for comparable, marker in ((True, "o"), (False, "x")):
        part = table[(table["comparable"] == "yes") == comparable]
        ax.scatter(
            part["train_seconds"], part["top1"], marker=marker, label="comparable" if comparable else "not comparable"
        )
        for row in part.itertuples():
            ax.annotate(
                f"{row.model} ({row.name})",
                (row.train_seconds, row.top1),
                fontsize=7,
                xytext=(4, 2),
                textcoords="offset points",
            )
    ax.set_xscale("log")
    ax.set_xlabel("training wall time (s, log scale)")
    ax.set_ylabel("test top-1")
    ax.set_title("Leaderboard: test top-1 against training time")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def build(records: list, out: Path) -> pd.DataFrame:
    from ..io import atomic_file, write_table, write_text

    table = rank(rows(records))
    if table.empty:
        raise PipelineError("no experiment or commit has metrics/eval.json yet; run `dvc repro` or `dvc exp run` first")
    write_text(out / "leaderboard.md", markdown(table))
    write_table(out / "leaderboard.csv", table)
    with atomic_file(out / "leaderboard.png") as tmp:
        chart(table, tmp)
    return table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rev", action="append", default=[], help="also a commit and its experiments (repeatable)")
    parser.add_argument("--all-commits", action="store_true", help="every commit in the repository")
    parser.add_argument("--out", default="leaderboard", help="folder for leaderboard.{md,csv,png}")


def run(args: argparse.Namespace) -> None:
    table = build(dvc_exp_show(args.rev, args.all_commits), Path(args.out))
    print(markdown(table.head(20)))
    print(f"leaderboard: {len(table)} rows -> {args.out}/leaderboard.md, .csv, .png")
