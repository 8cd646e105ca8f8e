"""The real pipeline, as a user runs it: a copy of the project, `git init`, `dvc repro`."""

import json

import numpy as np
import pytest
import yaml

from imgclf.models.registry import MODELS
from imgclf.runtime import NATIVE_NOISE
from projects import STAGES, clone, metrics, ran, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A fresh clone with the default pipeline run once: the head trains 12 epochs instead of up to 40, and the
    export writes model.keras only (tests/export/test_formats.py checks every format against it)."""
    root = clone(tmp_path_factory.mktemp("project"), export={"formats": []}, models={"head": {"epochs": 12}})
    return root, run(root, "dvc", "repro")


def lock_hashes(root) -> dict:
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", [])}


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
    assert json.loads((root / "metrics" / "train.json").read_text())["images_per_second"] > 0
    progress = (root / "metrics" / "progress.csv").read_text().splitlines()
    assert progress[0] == "epoch,minutes,val_accuracy" and len(progress) == 1 + 12  # one row per epoch
    assert result["tta"] == "none" and 0 <= result["ece"] <= 1 and 0 <= result["balanced_accuracy"] <= 1
    assert "predictions.csv" in (root / "metrics" / ".gitignore").read_text()  # DVC-cached, not in git
    noise = [line for line in first.stderr.splitlines() if NATIVE_NOISE.search(line)]
    assert noise == []  # no TensorFlow start-up chatter from any stage


def test_dvc_plots_show_renders_the_errors_the_calibration_and_the_gallery(project, tmp_path):
    root, _ = project
    run(root, "dvc", "plots", "show", "-o", str(tmp_path / "plots"))
    html = (tmp_path / "plots" / "index.html").read_text()
    assert "Per-class error rate" in html and "Reliability" in html and "misclassified.png" in html
    assert "Validation accuracy against minutes of training" in html
    assert list((tmp_path / "plots").rglob("*misclassified.png"))


def test_a_run_shows_at_most_70_params_in_dvc_exp_show(project):
    """params.yaml and the selected model's recipes/<model>.yaml: what the run depends on, in one table's width
    (all seven models' sections were 211 leaves, 250 columns with the metrics)."""
    root, _ = project
    shown = json.loads(run(root, "dvc", "exp", "show", "--json").stdout)
    files = shown[0]["data"]["params"]

    def leaves(tree) -> int:
        return sum(leaves(v) if isinstance(v, dict) else 1 for v in tree.values())

    assert set(files) == {"params.yaml", "recipes/head.yaml"}
    assert leaves({f: c["data"] for f, c in files.items()}) <= 70


def test_second_repro_runs_only_the_check(project):
    root, _ = project
    assert ran(run(root, "dvc", "repro")) == ["validate"]


def test_a_forced_rerun_gives_the_same_model_file_so_nothing_after_it_reruns(project):
    """Same params and seed: model.keras byte for byte (timings kept apart), so evaluate and export are
    up to date. (tests/features/test_featurize.py shows the same for the embeddings and their manifest.)"""
    root, _ = project
    hashes = lock_hashes(root)
    assert ran(run(root, "dvc", "repro", "--force", "--single-item", "train")) == ["train"]
    assert lock_hashes(root)["data/train"] == hashes["data/train"]
    assert ran(run(root, "dvc", "repro")) == ["validate"]


@pytest.mark.parametrize(
    "key, value, invalidated",
    [
        ("recipes/head.yaml:epochs", 3, ["train"]),
        ("recipes/resnext.yaml:epochs", 3, []),  # not the selected model: its file is not a dependency
        ("recipe.ema", 0.5, ["train"]),  # the shared recipe, which the head inherits
        ("features.image_size", 40, ["featurize_shard@0"]),  # then the join, train, ..., through data/shards
        ("data.val_fraction", 0.2, ["split"]),
        ("seed", 1, ["fetch", "split", "featurize_shard@0", "train", "export"]),
        ("data.resize", "pad", ["fetch", "export"]),  # export records it for `imgclf predict`
        ("export.quantize", "int8", ["export"]),
    ],
)
def test_a_param_change_invalidates_exactly_the_stages_that_read_it(project, key, value, invalidated):
    root, _ = project
    file, _, key = key.rpartition(":")
    params = root / (file or "params.yaml")
    original = params.read_text()
    raw = yaml.safe_load(original)
    section = raw
    for part in key.split(".")[:-1]:
        section = section[part]
    section[key.split(".")[-1]] = value
    try:
        params.write_text(yaml.safe_dump(raw, sort_keys=False))
        status = json.loads(run(root, "dvc", "status", "--json").stdout)
    finally:
        params.write_text(original)
    assert sorted(name for name in status if name != "validate") == sorted(invalidated)


def test_a_mistyped_key_anywhere_fails_dvc_repro_with_one_line(project):
    root, _ = project
    params = root / "params.yaml"
    original = params.read_text()
    try:
        params.write_text(original + "learning_rat: 0.01\n")
        result = run(root, "dvc", "repro", check=False)
    finally:
        params.write_text(original)
    assert result.returncode != 0
    assert (
        "error: params.yaml: unknown key 'learning_rat'; allowed keys under the top level: seed, data" in result.stderr
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_an_unknown_model_name_fails_with_the_list_of_models(project):
    root, _ = project
    try:
        result = run(root, "dvc", "exp", "run", "-S", "model=resnxt", check=False)
    finally:
        run(root, "git", "checkout", "params.yaml")  # a failed `dvc exp run -S` leaves its change behind
    assert result.returncode != 0
    listed = ", ".join(repr(name) for name in MODELS)  # 'head', 'linear_probe', 'airbench', 'finetune', ...
    assert f"error: params.yaml: model must be one of {listed}; got 'resnxt'" in result.stderr


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
    assert (
        "error: params.yaml: data.dataset must be one of 'digits', 'cifar10', 'cifar100', 'folder'; got 'cifar'"
        in result.stderr
    )
    assert "Traceback" not in result.stderr + result.stdout


def test_export_writes_the_model_of_pictures_that_scores_what_evaluate_scored(project):
    root, _ = project
    export = root / "data" / "export"
    for name in ("model.keras", "labels.txt", "model_card.md", "preprocessing.json"):
        assert (export / name).exists(), name
    figures = json.loads((root / "metrics" / "export.json").read_text())["formats"]
    assert set(figures) == {"keras"}
    assert abs(figures["keras"]["top1"] - metrics(root)["top1"]) <= 0.001  # the end-to-end model = evaluate's
    assert (export / "labels.txt").read_text().split() == [str(d) for d in range(10)]
    assert "| keras |" in (export / "model_card.md").read_text()


def test_a_committed_export_is_an_artifact_and_predict_on_it_scores_what_evaluate_scored(project, tmp_path):
    """Commit, register a version, `dvc artifacts get` it; then `imgclf predict --rev HEAD` (the model fetched
    through DVC) on the test split's own pictures, saved as PNG files in class folders."""
    import numpy as np
    import pandas as pd
    from PIL import Image

    root, _ = project
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-qm", "trained")
    run(root, "gto", "register", "image-classifier", "HEAD", "--version", "v1.0.0")
    run(root, "dvc", "artifacts", "get", ".", "image-classifier", "--rev", "v1.0.0", "-o", str(tmp_path / "got"))
    assert (tmp_path / "got" / "model.keras").read_bytes() == (root / "data" / "export" / "model.keras").read_bytes()
    images = np.load(root / "data" / "split" / "test_images.npy")
    labels = np.load(root / "data" / "split" / "test_labels.npy")
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        (tmp_path / "pics" / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(tmp_path / "pics" / str(label) / f"{i:04d}.png")
    run(root, "imgclf", "predict", str(tmp_path / "pics"), "--rev", "HEAD", "--out", str(tmp_path / "p.csv"))
    table = pd.read_csv(tmp_path / "p.csv", dtype={"label_1": str})
    truth = table["path"].str.split("/").str[-2]
    assert len(table) == len(labels)
    assert abs((table["label_1"] == truth).mean() - metrics(root)["top1"]) <= 0.001


def test_predict_rev_takes_a_file_of_the_export_or_an_absolute_path_and_names_what_is_missing(
    project, tmp_path, monkeypatch, capsys
):
    """A model file inside an export comes with its folder (preprocessing.json); an absolute --model inside the
    project works; a fresh clone, which has no DVC cache, and a revision that does not exist get one line each."""
    from PIL import Image

    from imgclf.cli import main as imgclf

    root, _ = project
    committed(root)
    Image.fromarray(np.load(root / "data" / "split" / "test_images.npy")[0]).save(tmp_path / "a.png")
    monkeypatch.chdir(root)  # as `imgclf predict` run in the project; in this process, which has Keras loaded
    for model in ("data/export/model.keras", str(root / "data" / "export")):
        imgclf(["predict", str(tmp_path / "a.png"), "--rev", "HEAD", "--model", model])
        assert capsys.readouterr().out.startswith("path,label_1,probability_1")
    missing = run(root, "imgclf", "predict", str(tmp_path), "--rev", "no-such-tag", check=False)
    assert missing.stderr.strip().splitlines() == [
        "error: --rev no-such-tag: no such commit, branch, tag or experiment in this project "
        "(unknown Git revision 'no-such-tag')"
    ]
    run(tmp_path, "git", "clone", "-q", str(root), "fresh")
    fresh = run(tmp_path / "fresh", "imgclf", "predict", str(tmp_path / "a.png"), "--rev", "HEAD", check=False)
    assert fresh.returncode == 1 and "Traceback" not in fresh.stderr
    assert "data/export at HEAD: its files are not in this project's DVC cache" in fresh.stderr
    board = run(root, "imgclf", "leaderboard", "--rev", "no-such-tag", "--out", str(tmp_path / "lb"), check=False)
    assert (
        board.stderr.strip()
        == "error: --rev: unknown Git revision 'no-such-tag'; name a commit, branch, tag or experiment of this project"
    )


def committed(root) -> None:
    """The pipeline's run committed (once: a test that ran first may have done it)."""
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-qm", "trained", check=False)


def test_the_leaderboard_leaves_out_a_workspace_whose_metrics_are_older_than_its_params(project, tmp_path):
    """After `git checkout params.yaml` (or any edit of it or of the model's recipe file), exp_show pairs the new
    params with the last run's metrics; that row is left out with a note instead of shown as a run nobody made."""
    root, _ = project
    committed(root)  # a row that stays
    shown = run(root, "imgclf", "leaderboard", "--by-run", "--out", str(tmp_path / "a"))
    assert "the workspace row is left out" not in shown.stderr, shown.stderr
    for edited, old, new in [
        ("recipes/head.yaml", "dropout: 0.3", "dropout: 0.4"),
        ("params.yaml", "seed: 0", "seed: 1"),
    ]:
        path = root / edited
        original = path.read_text()
        assert old in original, (edited, old)
        try:
            path.write_text(original.replace(old, new, 1))
            stale = run(root, "imgclf", "leaderboard", "--by-run", "--out", str(tmp_path / edited))
        finally:
            path.write_text(original)
        assert "the workspace row is left out" in stale.stderr, edited
        assert "| workspace |" not in (tmp_path / edited / "leaderboard.md").read_text()


def test_the_leaderboard_reads_the_committed_runs_while_an_experiment_holds_the_workspace(project, tmp_path):
    """`dvc exp run` locks the workspace's outputs for its whole run; the leaderboard, asked meanwhile, leaves
    the workspace out (its results are not in yet) instead of failing with DVC's lock message."""
    import json
    import os

    root, _ = project
    committed(root)
    lock = root / ".dvc" / "tmp" / "rwlock"
    held = {"write": {str(root / "metrics"): {"pid": os.getpid(), "cmd": "dvc exp run (this test)"}}, "read": {}}
    lock.write_text(json.dumps(held))
    try:
        board = run(root, "imgclf", "leaderboard", "--by-run", "--out", str(tmp_path / "lb"), check=False)
    finally:
        lock.unlink()
    assert board.returncode == 0, board.stderr
    assert "the workspace is left out: another DVC command is running here" in board.stderr
    assert "| workspace |" not in (tmp_path / "lb" / "leaderboard.md").read_text()
