"""The real pipeline, as a user runs it: a copy of the project, `git init`, `dvc repro`."""

import json

import pytest

from projects import STAGES, clone, metrics, ran, run

pytestmark = pytest.mark.slow


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
