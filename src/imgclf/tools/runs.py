"""Experiments and commits as flat run records: what a run measured, on what, and with which params.

Read through ``dvc.api.exp_show`` (the workspace, HEAD and its experiments, or
chosen revisions); ``--all-commits`` has no API equivalent and reads the CLI's
``dvc exp show -A --json`` instead. Both become flat rows whose keys are
``<file>:<dotted.key>`` or, where that is unambiguous, ``<dotted.key>``: the
API's own shape.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ..errors import PipelineError
from ..params_layout import RECIPES_DIR

EVAL_FILE = "metrics/eval.json"
TIMING_FILE = "metrics/train.json"  # training wall time and images/s, written by the train stage
PARAMS_FILE = "params.yaml"
SCORES = ("top1", "top5", "macro_f1", "balanced_accuracy", "ece")
NUMBERS = (*SCORES, "params", "epochs_run", "train_seconds", "images_per_second", "test_images")
UNREADABLE = "!"  # what exp_show puts where a file of a run could not be read (a failed or queued run)


def _flatten(prefix: str, tree, into: dict) -> None:
    for key, value in (tree or {}).items():
        if isinstance(value, dict):
            _flatten(f"{prefix}{key}.", value, into)
        else:
            into[f"{prefix}{key}"] = value


def _cli_rows(records: list) -> list[dict]:
    """``dvc exp show --json`` records as flat rows keyed ``<file>:<key>``, like the API's ambiguous columns."""
    rows = []

    def add(record: dict, name) -> None:
        row = {"Experiment": name, "rev": record["rev"]}
        data = record.get("data") or {}
        for kind in ("metrics", "params"):
            for file, content in (data.get(kind) or {}).items():
                flat: dict = {}
                _flatten("", (content or {}).get("data"), flat)
                row.update({f"{file}:{k}": v for k, v in flat.items()})
        rows.append(row)

    for record in records:
        add(record, record.get("name"))
        for group in record.get("experiments") or []:
            for exp in group.get("revs", []):
                add(exp, exp.get("name"))
    return rows


def experiment_rows(revs: list[str], all_commits: bool, cwd: Path | None = None) -> list[dict]:
    """One flat row per commit and experiment; PipelineError with DVC's reason when it cannot read them."""
    if all_commits:
        cmd = [sys.executable, "-m", "dvc", "exp", "show", "-A", "--json"]
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        if done.returncode != 0:
            raise PipelineError(f"`dvc exp show -A` failed: {done.stderr.strip().splitlines()[-1:]}")
        return _cli_rows(json.loads(done.stdout))
    import dvc.api
    from dvc.exceptions import DvcException
    from dvc.lock import LockError
    from dvc.scm import RevError

    try:
        return finished(without_stale_workspace(dvc.api.exp_show(repo=str(cwd or "."), revs=revs or None), cwd))
    except RevError as exc:
        raise PipelineError(f"--rev: {exc}; name a commit, branch, tag or experiment of this project") from None
    except LockError:  # an experiment is running in this workspace: its results are not in yet anyway
        print("note: the workspace is left out: another DVC command is running here", file=sys.stderr)
        return finished(committed_rows(revs, cwd))
    except DvcException as exc:
        raise PipelineError(f"cannot read experiments here ({exc}); run this inside a DVC project") from None


def finished(rows: list[dict]) -> list[dict]:
    """Rows without the experiments still queued or running: their params are the new run's, their metrics
    still the last one's."""
    return [row for row in rows if row.get("State") not in ("Queued", "Running")]


def committed_rows(revs: list[str], cwd: Path | None = None) -> list[dict]:
    """``dvc.api.exp_show`` without the workspace, which a running experiment holds locked."""
    from dvc.api.experiments import _postprocess
    from dvc.repo import Repo
    from dvc.repo.experiments.show import tabulate

    with Repo.open(str(cwd or ".")) as repo:
        table, _ = tabulate(repo.experiments.show(revs=revs or None, hide_workspace=True), fill_value=None)
    return _postprocess(table.as_dict())


def stale_stages(cwd: Path | None = None) -> list[str]:
    """Stages before the workspace's metrics whose params changed since they ran (``dvc status`` of evaluate).

    Then exp_show would pair today's params.yaml or recipe file (say, after ``git checkout
    params.yaml``) with the metrics of the last run, a row no run produced.
    Only params count: data changes show in ``dvc status`` only after validate
    has fingerprinted the source again, which a read-only check must not do.
    """
    from dvc.repo import Repo

    with Repo(str(cwd or ".")) as repo:
        status = repo.status(targets=["evaluate"], with_deps=True)

    def is_params(dep: str) -> bool:
        return dep == PARAMS_FILE or dep.startswith(f"{RECIPES_DIR}/")

    def params_changed(changes) -> bool:
        return any(isinstance(c, dict) and any(map(is_params, c.get("changed deps") or {})) for c in changes)

    return sorted(stage for stage, changes in status.items() if params_changed(changes))


def without_stale_workspace(rows: list[dict], cwd: Path | None = None) -> list[dict]:
    if not any(row.get("rev") == "workspace" for row in rows) or not (stale := stale_stages(cwd)):
        return rows
    print(
        "leaderboard: the workspace row is left out: its metrics are older than its params "
        f"(`dvc status`: {', '.join(stale)}); run `dvc repro` to include it",
        file=sys.stderr,
    )
    return [row for row in rows if row.get("rev") != "workspace"]


def value(row: dict, file: str, key: str):
    """``key`` of ``file`` in a flat row, whichever way the column is named; None where DVC could not read it."""
    found = row.get(f"{file}:{key}", row.get(key))
    # exp_show writes "None" where a key is in other runs' files but not in this one's (an older eval.json)
    return None if found in (UNREADABLE, "None") else found


def dataset_label(row: dict) -> str:
    """What a test set is called: the dataset, or a folder's base name (``cifar10-jpg.tar.gz``)."""
    dataset = value(row, PARAMS_FILE, "data.dataset") or value(row, EVAL_FILE, "run.dataset") or "?"
    if dataset == "folder":
        path = value(row, PARAMS_FILE, "data.path") or ""
        return Path(str(path).rstrip("/")).name or "folder"
    if value(row, PARAMS_FILE, "data.label_mode") == "coarse":
        return f"{dataset} (coarse)"
    return dataset


def model_param(row: dict, model: str, key: str):
    """``models.<model>.<key>`` of a run: its recipes/<model>.yaml's, or a commit's from before those files (when
    params.yaml held every model's section), else the shared recipe's in params.yaml (where fine-tuning's
    ``head.*`` inherits too)."""
    for own in (value(row, f"recipes/{model}.yaml", key), value(row, PARAMS_FILE, f"models.{model}.{key}")):
        if own is not None:
            return own
    shared = value(row, PARAMS_FILE, f"recipe.{key}")
    if shared is None and "." in key and not key.startswith("augment."):
        shared = value(row, PARAMS_FILE, f"recipe.{key.split('.', 1)[1]}")
    return shared


def run_record(row: dict, param_keys: list[str]) -> dict | None:
    """A run's name, scores, conditions and params; None for a row without test metrics."""
    if value(row, EVAL_FILE, "top1") is None:
        return None
    rev = str(row.get("rev") or "")
    name = row.get("Experiment") or (rev if rev == "workspace" else rev[:7])
    record = {
        "name": name,
        "rev": rev if rev == "workspace" else rev[:7],
        "model": value(row, EVAL_FILE, "run.model") or value(row, PARAMS_FILE, "model"),
        "seed": value(row, PARAMS_FILE, "seed"),
        **{score: value(row, EVAL_FILE, score) for score in SCORES},
        "tta": value(row, EVAL_FILE, "tta"),
        "params": value(row, EVAL_FILE, "train.params"),
        "epochs_run": value(row, EVAL_FILE, "train.epochs_run"),
        "train_seconds": value(row, TIMING_FILE, "seconds") or value(row, EVAL_FILE, "train.seconds"),
        "images_per_second": value(row, TIMING_FILE, "images_per_second")
        or value(row, EVAL_FILE, "train.images_per_second"),
        "device": value(row, EVAL_FILE, "run.device"),
        "dataset": dataset_label(row),
        "test_images": value(row, EVAL_FILE, "run.test_images") or value(row, EVAL_FILE, "images"),
        "test_set": value(row, EVAL_FILE, "run.test_set"),
    }
    record["config"] = {
        key: model_param(row, *key.split(".", 2)[1:]) if key.startswith("models.") else value(row, PARAMS_FILE, key)
        for key in param_keys
        if not key.startswith("recipe.")  # the shared recipe counts as each model's section inherits it
    }
    # What an ``auto`` recipe became, where the run says (fine-tuning): a run left at auto and one that set
    # the same values by hand are the same recipe.
    prefix = f"models.{record['model']}."
    for key in (k for k in param_keys if k.startswith(prefix)):
        used = value(row, EVAL_FILE, f"train.recipe_used.{key[len(prefix) :]}")
        if used is not None:
            record["config"][key] = used
    return record
