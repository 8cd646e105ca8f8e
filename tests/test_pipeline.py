"""The real pipeline, as a user runs it: a copy of the project, `git init`, `dvc repro`."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
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
    assert scores["run"]["model"] == model and scores["images"] == scores["run"]["test_images"] == 30
    assert scores["run"]["backend"] == "tensorflow" and scores["run"]["device"].startswith("CPU")
    assert 0.0 <= scores["top1"] <= 1.0 and scores["train"]["epochs_run"] >= 1
    train = json.loads((tiny_project / "data" / "train" / "train.json").read_text())
    assert train["recipe"] == yaml.safe_load((tiny_project / "params.yaml").read_text())["models"][model]


def start(root: Path, *cmd: str) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "IMGCLF_NO_PROGRESS": "1"}
    return subprocess.Popen(
        cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def interrupt_after_epoch(root: Path, cmd: list[str], epoch: int, sig: int) -> tuple[int, str, str]:
    """Run ``cmd``; send ``sig`` to all of it (dvc and the stage) once epoch ``epoch`` is checkpointed."""
    shutil.rmtree(root / "checkpoints", ignore_errors=True)
    process = start(root, *cmd)
    deadline, states = time.monotonic() + 300, []
    while time.monotonic() < deadline and process.poll() is None:
        states = list((root / "checkpoints").glob("*/main/state.json"))
        if states and json.loads(states[0].read_text())["epoch"] >= epoch:
            os.killpg(process.pid, sig)
            break
        time.sleep(0.02)
    out, err = process.communicate(timeout=120)
    assert states, f"training ended before it could be interrupted:\n{out}\n{err}"
    return process.returncode, out, err


def test_killed_training_resumes_to_identical_metrics(tiny_project):
    # A configuration never run before, so DVC has no cached result to restore instead.
    new = ["-S", "model=resnext", "-S", "models.resnext.epochs=8", "-S", "models.resnext.warmup_epochs=0.5"]
    code, _, _ = interrupt_after_epoch(tiny_project, ["dvc", "exp", "run", *new], 3, signal.SIGKILL)
    assert code != 0
    resumed = run(tiny_project, "dvc", "repro")
    assert "resuming models.resnext after epoch" in resumed.stdout + resumed.stderr
    assert ran(resumed) == ["train", "evaluate"]
    after_resume = metrics(tiny_project)
    history = (tiny_project / "metrics" / "history.csv").read_text()
    assert not list((tiny_project / "checkpoints").glob("*/main"))  # removed once training succeeded
    straight = run(tiny_project, "dvc", "repro", "--force", "--downstream", "train")  # from scratch, no checkpoint
    assert "resuming" not in straight.stdout + straight.stderr
    uninterrupted = metrics(tiny_project)
    for key in ("top1", "top5", "macro_f1", "log_loss"):
        assert after_resume[key] == uninterrupted[key], key
    assert after_resume["train"]["epochs_run"] == uninterrupted["train"]["epochs_run"] == 8
    assert (tiny_project / "metrics" / "history.csv").read_text() == history


def test_ctrl_c_ends_with_one_line_not_a_traceback(tiny_project):
    cmd = ["dvc", "repro", "--force", "--single-item", "train"]
    code, out, err = interrupt_after_epoch(tiny_project, cmd, 1, signal.SIGINT)
    assert code != 0
    assert "interrupted: nothing was written to the stage's outputs" in err
    assert "Traceback" not in out + err


def test_queued_experiments_run_and_compare(tiny_project, tmp_path):
    for name, lr in (("lr-high", "0.01"), ("lr-low", "0.001")):
        run(tiny_project, "dvc", "exp", "run", "--queue", "-n", name, "-S", "model=head",
            "-S", "models.head.epochs=2", "-S", f"models.head.learning_rate={lr}")
    run(tiny_project, "dvc", "queue", "start", "--jobs", "2")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = run(tiny_project, "dvc", "queue", "status").stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            break
        time.sleep(2)
    assert len(re.findall(r"\bSuccess\b", status)) == 2, status
    shown = json.loads(run(tiny_project, "dvc", "exp", "show", "--json").stdout)
    names = {exp["name"] for record in shown for group in record.get("experiments") or [] for exp in group["revs"]}
    assert {"lr-high", "lr-low"} <= names
    board = run(tiny_project, sys.executable, "-m", "imgclf.leaderboard", "--out", str(tmp_path))
    table = (tmp_path / "leaderboard.csv").read_text()
    assert "lr-high" in table and "lr-low" in table and "rank | name" in board.stdout
    run(tiny_project, "dvc", "plots", "diff", "lr-high", "lr-low", "-o", str(tmp_path / "plots"))
    html = (tmp_path / "plots" / "index.html").read_text()
    assert "lr-high" in html and "lr-low" in html and "val_accuracy" in html
