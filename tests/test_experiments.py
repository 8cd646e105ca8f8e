"""Experiments as users run them: every model queued, a killed run resumed, Ctrl-C."""

import json
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from projects import clone, interrupt_after_epoch, metrics, ran, run

pytestmark = pytest.mark.slow


# One short run of every model through the same train and evaluate stages, on a tiny
# subset of the embedded default (12 training images per class), as queued experiments.
MODEL_RUNS = {
    "linear_probe": ["-S", "models.linear_probe.C=[0.1]"],
    "head": ["-S", "models.head.epochs=1"],
    "finetune": ["-S", "models.finetune.epochs=1", "-S", "models.finetune.head.epochs=1", "-S", "models.finetune.fine_tune_at=165"],
    "mobilenet_v1": ["-S", "models.mobilenet_v1.epochs=1", "-S", "models.mobilenet_v1.warmup_epochs=0", "-S", "models.mobilenet_v1.alpha=0.25"],
    "mobilenet_v2": ["-S", "models.mobilenet_v2.epochs=1", "-S", "models.mobilenet_v2.warmup_epochs=0", "-S", "models.mobilenet_v2.alpha=0.35"],
    "resnext": ["-S", "models.resnext.epochs=1", "-S", "models.resnext.warmup_epochs=0"],
}


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory):
    root = clone(tmp_path_factory.mktemp("tiny"), {"limit_per_class": 12, "test_limit_per_class": 3, "val_fraction": 0.25})
    run(root, "dvc", "repro", "featurize")
    return root


def wait_for_queue(root: Path, timeout_s: float = 900) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = run(root, "dvc", "queue", "status").stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            return status
        time.sleep(2)
    raise AssertionError(f"queue still busy after {timeout_s} s:\n{status}")


@pytest.fixture(scope="module")
def queued_models(tiny_project):
    """Every model queued with `dvc exp run --queue -S model=<name>`, then `dvc queue start --jobs 2`."""
    for model, changes in MODEL_RUNS.items():
        run(tiny_project, "dvc", "exp", "run", "--queue", "-n", model, "-S", f"model={model}", *changes)
    run(tiny_project, "dvc", "queue", "start", "--jobs", "2")
    status = wait_for_queue(tiny_project)
    shown = json.loads(run(tiny_project, "dvc", "exp", "show", "--json").stdout)
    exps = {exp["name"]: exp for record in shown for group in record.get("experiments") or [] for exp in group["revs"]}
    return status, exps


@pytest.mark.parametrize("model", list(MODEL_RUNS))
def test_every_model_trains_and_evaluates_as_a_queued_experiment(queued_models, model):
    status, exps = queued_models
    assert re.search(rf"\b{model}\b.*\bSuccess\b", status), status
    scores = exps[model]["data"]["metrics"]["metrics/eval.json"]["data"]
    params = exps[model]["data"]["params"]["params.yaml"]["data"]
    assert params["model"] == model
    assert scores["run"]["model"] == model and scores["images"] == scores["run"]["test_images"] == 30
    assert scores["run"]["backend"] == "tensorflow" and scores["run"]["device"].startswith("CPU")
    assert 0.0 <= scores["top1"] <= 1.0 and scores["train"]["epochs_run"] >= 1


def test_queued_experiments_compare_in_the_leaderboard_and_plots(tiny_project, queued_models, tmp_path):
    board = run(tiny_project, sys.executable, "-m", "imgclf.leaderboard", "--out", str(tmp_path))
    table = (tmp_path / "leaderboard.csv").read_text()
    assert all(model in table for model in MODEL_RUNS) and "rank | name" in board.stdout
    assert table.count(",yes") == len(MODEL_RUNS)  # same dataset and test set: all comparable
    run(tiny_project, "dvc", "plots", "diff", "head", "resnext", "-o", str(tmp_path / "plots"))
    html = (tmp_path / "plots" / "index.html").read_text()
    assert "head" in html and "resnext" in html and "val_accuracy" in html


def test_killed_training_resumes_to_identical_metrics(tiny_project):
    # A configuration never run before, so DVC has no cached result to restore instead.
    new = ["-S", "model=resnext", "-S", "models.resnext.epochs=5", "-S", "models.resnext.warmup_epochs=0.5"]
    code, _, _ = interrupt_after_epoch(tiny_project, ["dvc", "exp", "run", *new], 2, signal.SIGKILL)
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
    assert after_resume["train"]["epochs_run"] == uninterrupted["train"]["epochs_run"] == 5
    assert (tiny_project / "metrics" / "history.csv").read_text() == history


def test_ctrl_c_ends_with_one_line_not_a_traceback(tiny_project):
    cmd = ["dvc", "repro", "--force", "--single-item", "train"]
    code, out, err = interrupt_after_epoch(tiny_project, cmd, 1, signal.SIGINT)
    assert code != 0
    assert "interrupted: nothing was written to the stage's outputs" in err
    assert "Traceback" not in out + err
