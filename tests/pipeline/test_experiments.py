"""Experiments as users run them: models queued, run in the background, compared."""

import json
import re
import time
from pathlib import Path

import pytest

from projects import run, tiny

pytestmark = pytest.mark.slow


# Short runs through the same train and evaluate stages, on a tiny subset of the embedded
# default (12 training images per class), as queued experiments: a probe and a head on the
# cache and an image model. (Every model's training is also tested in-process, faster.)
MODEL_RUNS = {
    "linear_probe": ["-S", "models.linear_probe.C=[0.1]"],
    "head": ["-S", "models.head.epochs=1"],
    # The from-scratch recipe warms up for 1 epoch: a 1-epoch smoke run must scale that down, not refuse.
    "mobilenet_v1": ["-S", "models.mobilenet_v1.epochs=1", "-S", "models.mobilenet_v1.alpha=0.25"],
}


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory):
    return tiny(tmp_path_factory.mktemp("tiny"))


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
        # up to evaluate: exporting each is tested in test_pipeline.py, and would double the time here
        run(tiny_project, "dvc", "exp", "run", "--queue", "-n", model, "-S", f"model={model}", *changes, "evaluate")
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


def test_a_one_epoch_smoke_run_scales_its_warmup_down_and_says_so(tiny_project, queued_models):
    logs = run(tiny_project, "dvc", "queue", "logs", "mobilenet_v1").stdout
    assert (
        "models.mobilenet_v1.warmup_epochs (1) does not fit in 1 epoch(s): warming up over 0.5 epoch(s) instead" in logs
    )


def test_queued_experiments_compare_in_the_leaderboard_and_plots(tiny_project, queued_models, tmp_path):
    board = run(tiny_project, "imgclf", "leaderboard", "--out", str(tmp_path))
    table = (tmp_path / "leaderboard.csv").read_text()
    assert all(model in table for model in MODEL_RUNS) and "rank | name" in board.stdout
    assert table.count(",yes") == len(MODEL_RUNS)  # same dataset and test set: all comparable
    run(tiny_project, "dvc", "plots", "diff", "head", "mobilenet_v1", "-o", str(tmp_path / "plots"))
    html = (tmp_path / "plots" / "index.html").read_text()
    assert "head" in html and "mobilenet_v1" in html and "val_accuracy" in html
