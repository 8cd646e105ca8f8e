"""The real pipeline, as a user runs it: a copy of the project, `git init`, `dvc repro`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fakes import REPO

pytestmark = pytest.mark.slow
STAGES = ("fetch", "split", "featurize", "train", "evaluate")
BIN = Path(sys.executable).parent


def run(root: Path, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "IMGCLF_NO_PROGRESS": "1"}
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    result = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def ran(result: subprocess.CompletedProcess) -> list[str]:
    return re.findall(r"Running stage '(\w+)'", result.stdout + result.stderr)


def metrics(root: Path) -> dict:
    return json.loads((root / "metrics" / "eval.json").read_text())


def clone(root: Path, data_changes: dict | None = None) -> Path:
    """The project's files as a fresh clone has them (no outputs, no lock), committed to a new git repo."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in listed:
        if (REPO / name).is_file() and not name.startswith(("metrics/", "dvc.lock")):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    if data_changes:
        params = yaml.safe_load((root / "params.yaml").read_text())
        params["data"].update(data_changes)
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(root, "git", "init", "-q")
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-qm", "fresh clone")
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A fresh clone with the default pipeline run once."""
    root = clone(tmp_path_factory.mktemp("project"))
    return root, run(root, "dvc", "repro")


def test_repro_runs_every_stage_and_writes_metrics(project):
    root, first = project
    assert ran(first) == list(STAGES)
    result = metrics(root)
    assert result["top1"] > 0.8  # 10 digit classes: chance is 0.1
    assert set(result) >= {"top1", "top5", "macro_f1", "train"}
    for name in ("per_class.csv", "confusion.csv", "history.csv"):
        assert (root / "metrics" / name).stat().st_size > 0
    manifest = json.loads((root / "data" / "features" / "manifest.json").read_text())
    assert manifest["backbone"] == "resnet50" and manifest["run"]["backend"] == "tensorflow"


def test_second_repro_runs_nothing(project):
    root, _ = project
    assert ran(run(root, "dvc", "repro")) == []


def test_same_params_and_seed_give_the_same_metrics(project):
    root, _ = project
    before = metrics(root)
    result = run(root, "dvc", "repro", "--force", "--downstream", "train")
    assert ran(result) == ["train", "evaluate"]
    after = metrics(root)
    for key in ("top1", "top5", "macro_f1", "log_loss"):
        assert after[key] == before[key], key


def test_head_param_reruns_only_train_and_evaluate(project):
    root, _ = project
    result = run(root, "dvc", "exp", "run", "-S", "models.head.epochs=3")
    assert ran(result) == ["train", "evaluate"]
    assert metrics(root)["train"]["epochs_run"] == 3


def test_features_param_reruns_featurize_train_and_evaluate(project):
    root, _ = project
    result = run(root, "dvc", "exp", "run", "-S", "features.image_size=40")
    assert ran(result) == ["featurize", "train", "evaluate"]


def test_bad_param_fails_before_any_work_with_one_line(project):
    root, _ = project
    params = root / "params.yaml"
    original = params.read_text()
    try:
        params.write_text(original.replace("dataset: digits", "dataset: cifar"))
        result = run(root, "dvc", "repro", check=False)
    finally:
        params.write_text(original)
    assert result.returncode != 0
    assert "error: params.yaml: data.dataset must be one of 'digits', 'cifar10', 'cifar100', 'folder'; got 'cifar'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# One short run of every model through the same train and evaluate stages, on a
# tiny subset of the embedded default (12 training images per class).
MODEL_RUNS = {
    "linear_probe": ["-S", "models.linear_probe.C=[0.1]"],
    "head": ["-S", "models.head.epochs=1"],
    "finetune": ["-S", "models.finetune.epochs=1", "-S", "models.finetune.head.epochs=1", "-S", "models.finetune.fine_tune_at=165"],
    "mobilenet_v1": ["-S", "models.mobilenet_v1.epochs=1", "-S", "models.mobilenet_v1.warmup_epochs=0"],
    "mobilenet_v2": ["-S", "models.mobilenet_v2.epochs=1", "-S", "models.mobilenet_v2.warmup_epochs=0"],
    "resnext": ["-S", "models.resnext.epochs=1", "-S", "models.resnext.warmup_epochs=0"],
}


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory):
    root = clone(tmp_path_factory.mktemp("tiny"), {"limit_per_class": 12, "test_limit_per_class": 3, "val_fraction": 0.25})
    run(root, "dvc", "repro", "featurize")
    return root


@pytest.mark.parametrize("model", list(MODEL_RUNS))
def test_every_model_trains_and_evaluates_through_dvc_exp_run(tiny_project, model):
    result = run(tiny_project, "dvc", "exp", "run", "-S", f"model={model}", *MODEL_RUNS[model])
    assert ran(result) == ["train", "evaluate"]
    scores = metrics(tiny_project)
    assert scores["train"]["model"] == model and scores["images"] == 30
    assert 0.0 <= scores["top1"] <= 1.0 and scores["train"]["epochs_run"] >= 1
    train = json.loads((tiny_project / "data" / "train" / "train.json").read_text())
    assert train["recipe"] == yaml.safe_load((tiny_project / "params.yaml").read_text())["models"][model]
