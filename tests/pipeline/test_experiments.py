"""Experiments as users run them: models queued, run in the background, compared."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from fakes import image_tree
from projects import ran, run, tiny

pytestmark = pytest.mark.slow


# Short runs through the same train and evaluate stages, on a tiny subset of the embedded
# default (12 training images per class), as queued experiments: a head on the cache over
# two seeds (DVC's sweep syntax), and a linear probe to compare them with: it trains in seconds,
# while the seed-1 head reruns split and featurize for its seed. The models of pictures run through
# the same stages in test_model_matrix_images.py; the 1-epoch warmup message is in tests/training/test_fit.py.
QUEUED = {
    "head": ["-S", "seed=range(0,2)", "-S", "recipes/head.yaml:epochs=1"],  # queued as head-1 (seed 0) and head-2
    "linear_probe": [],
}
RUNS = {"head-1": "head", "head-2": "head", "linear_probe": "linear_probe"}


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory):
    return tiny(tmp_path_factory.mktemp("tiny"))


def wait_for_queue(root: Path, names: list[str]) -> str:
    """Each task followed with `dvc queue logs -f`, which returns when the task ends, in the order the queue runs
    them (by the time the earlier ones have ended, the later ones have started); then the queue's status."""
    for name in names:
        run(root, "dvc", "queue", "logs", "--follow", name)
    status = run(root, "dvc", "queue", "status").stdout
    assert not re.search(r"\b(Queued|Running)\b", status), status
    return status


@pytest.fixture(scope="module")
def queued_models(tiny_project):
    """Queued with `dvc exp run --queue -n <name> -S model=<name> ...`, then `dvc queue start --jobs 2`; and a
    folder named by a path relative to the project (`../pets`), fetched in a queued run too."""
    for model, changes in QUEUED.items():
        # up to evaluate: exporting each is tested in test_pipeline.py, and would double the time here
        run(tiny_project, "dvc", "exp", "run", "--queue", "-n", model, "-S", f"model={model}", *changes, "evaluate")
    image_tree(tiny_project.parent / "pets", {"cat": 4, "dog": 4})
    relative = ["-S", "data.dataset=folder", "-S", "data.path=../pets", "fetch"]
    run(tiny_project, "dvc", "exp", "run", "--queue", "-n", "relative-path", *relative)
    run(tiny_project, "dvc", "queue", "start", "--jobs", "2")
    status = wait_for_queue(tiny_project, [*RUNS, "relative-path"])
    shown = json.loads(run(tiny_project, "dvc", "exp", "show", "--json").stdout)
    exps = {exp["name"]: exp for record in shown for group in record.get("experiments") or [] for exp in group["revs"]}
    return status, exps


def test_a_relative_data_path_is_read_from_the_project_root_in_a_queued_run(queued_models):
    """Queued runs execute in a copy under .dvc/tmp/exps, where ../pets is not the user's ../pets."""
    status, _ = queued_models
    assert re.search(r"\brelative-path\b.*\bSuccess\b", status), status


@pytest.mark.parametrize("name", list(RUNS))
def test_each_queued_experiment_trains_and_evaluates(queued_models, name):
    status, exps = queued_models
    assert re.search(rf"\b{name}\b.*\bSuccess\b", status), status
    scores = exps[name]["data"]["metrics"]["metrics/eval.json"]["data"]
    params = exps[name]["data"]["params"]["params.yaml"]["data"]
    assert params["model"] == RUNS[name] and scores["run"]["model"] == RUNS[name]
    assert scores["images"] == scores["run"]["test_images"] == 30
    assert scores["run"]["backend"] == "tensorflow" and scores["run"]["device"].startswith("CPU")
    assert 0.0 <= scores["top1"] <= 1.0 and scores["train"]["epochs_run"] >= 1
    assert {"balanced_accuracy", "ece", "tta"} <= set(scores)


def test_the_leaderboard_groups_seeds_with_mean_and_std(tiny_project, queued_models, tmp_path):
    _, exps = queued_models
    board = run(tiny_project, "imgclf", "leaderboard", "--out", str(tmp_path))
    table = pd.read_csv(tmp_path / "leaderboard.csv")
    heads = table[table["model"] == "head"].iloc[0]
    assert heads["n"] == 2 and heads["seeds"] == "0, 1" and heads["runs"] in ("head-1, head-2", "head-2, head-1")
    top1 = [exps[n]["data"]["metrics"]["metrics/eval.json"]["data"]["top1"] for n in ("head-1", "head-2")]
    assert heads["top1_mean"] == pytest.approx(np.mean(top1), abs=1e-6)  # the CSV keeps 6 decimals
    assert heads["top1_std"] == pytest.approx(np.std(top1, ddof=1), abs=1e-6)
    assert table[table["model"] == "linear_probe"].iloc[0]["n"] == 1
    assert "## digits, 30 test pictures" in board.stdout and " ± –" in board.stdout  # one seed: no spread
    by_run = run(tiny_project, "imgclf", "leaderboard", "--by-run", "--out", str(tmp_path / "runs"))
    assert all(name in by_run.stdout for name in RUNS)


def test_queued_experiments_compare_in_dvc_plots(tiny_project, queued_models, tmp_path):
    run(tiny_project, "dvc", "plots", "diff", "head-1", "linear_probe", "-o", str(tmp_path / "plots"))
    html = (tmp_path / "plots" / "index.html").read_text()
    assert "head-1" in html and "linear_probe" in html and "val_accuracy" in html
    assert "per_class_error" in html or "Per-class error" in html


def test_two_featurize_shards_join_into_the_bytes_of_one(tiny_project):
    """`features.shards: [0, 1]` runs two featurize_shard stages and the join; the joined cache has the data/features
    hash of the one-shard run, so nothing that depends on it reruns. It changes the workspace's params.yaml,
    which the plan test after it reads as a user's would be."""
    root = tiny_project
    run(root, "git", "checkout", "params.yaml")
    run(root, "dvc", "repro", "featurize")
    before = yaml.safe_load((root / "dvc.lock").read_text())["stages"]["featurize"]["outs"][0]["md5"]
    params = root / "params.yaml"
    raw = yaml.safe_load(params.read_text())
    raw["features"]["shards"] = [0, 1]
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    stages = ran(run(root, "dvc", "repro", "featurize"))
    assert sorted(stages) == ["featurize", "featurize_shard@0", "featurize_shard@1", "validate"]
    assert yaml.safe_load((root / "dvc.lock").read_text())["stages"]["featurize"]["outs"][0]["md5"] == before
    assert json.loads((root / "metrics" / "featurize.json").read_text())["shards"] == 2


def test_plan_prints_the_run_line_that_fits_the_budget_and_what_the_range_test_suggests(tiny_project):
    """`imgclf plan` on a prepared project: timed through fit, the user's -S changes kept, the epochs a param."""
    model = ["-S", "model=mobilenet_v1", "-S", "recipes/mobilenet_v1.yaml:alpha=0.25"]
    model += ["-S", "recipes/mobilenet_v1.yaml:++batch_size=8"]  # a recipe key the model's file does not list
    done = run(tiny_project, "imgclf", "plan", "--minutes", "3", "--steps", "4", "--lr-find", *model)
    lines = done.stdout.splitlines()
    assert re.match(r"plan: mobilenet_v1 on \d+ training pictures: [\d.]+ s per step of 8 ", lines[0]), lines
    # On 12 pictures a class the loss is mostly noise: the test says so, with its losses, or names the rate to try
    found = re.search(
        r"^plan: learning-rate range test over (\d+) steps: (inconclusive, .*|.*try (.+)=([\d.e-]+))$",
        done.stdout,
        re.M,
    )
    assert found and int(found[1]) <= 200, done.stdout  # 200, or fewer where the loss rose 4-fold first
    assert found[2].startswith("inconclusive") or (
        found[3] == "-S recipes/mobilenet_v1.yaml:++learning_rate" and float(found[4]) > 0
    )
    predicted = float(re.search(r"predicted ([\d.]+) minutes for the train stage", done.stdout).group(1))
    epochs = int(re.search(r"-S recipes/mobilenet_v1\.yaml:\+\+epochs=(\d+)$", lines[-1]).group(1))
    assert epochs >= 1 and predicted <= 3
    assert lines[-1].startswith("dvc exp run -S model=mobilenet_v1 -S recipes/mobilenet_v1.yaml:alpha=0.25 -S recipes/")
    finetune = [
        "-S",
        "model=finetune",
        "-S",
        "recipes/finetune.yaml:batch_size=8",
        "-S",
        "recipes/finetune.yaml:epochs=2",
    ]
    done = run(tiny_project, "imgclf", "plan", "--minutes", "3", "--steps", "4", *finetune)
    head_s = float(
        re.search(r"plan: phase 1, the head on the cached embeddings \(\d+ epochs at most; .*\): (\d+) s", done.stdout)[
            1
        ]
    )
    sized = re.search(
        r"predicted ([\d.]+) minutes for the train stage .*\n.*-S recipes/finetune\.yaml:\+\+epochs=(\d+)$", done.stdout
    )
    assert head_s > 0 and float(sized[1]) <= 3 and int(sized[2]) >= 1, done.stdout
