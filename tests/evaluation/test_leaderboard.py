import pandas as pd

from imgclf.evaluation.leaderboard import build, markdown, rank, rows


def entry(name, top1, dataset="cifar10", test_set="aaaa", seconds=10.0, model="head"):
    metrics = {
        "top1": top1,
        "top5": 0.99,
        "macro_f1": top1 - 0.01,
        "images": 100,
        "train": {"params": 1000, "epochs_run": 3, "seconds": seconds, "images_per_second": 50.0},
        "run": {
            "model": model,
            "backend": "tensorflow",
            "device": "CPU: x",
            "precision": "float32",
            "dataset": dataset,
            "train_images": 900,
            "test_images": 100,
            "test_set": test_set,
        },
    }
    params = {"model": model, "models": {model: {"epochs": 3, "optimizer": "adam", "learning_rate": 0.001}}}
    return {
        "rev": f"{name}000000",
        "name": name,
        "data": {"metrics": {"metrics/eval.json": {"data": metrics}}, "params": {"params.yaml": {"data": params}}},
    }


def dvc_json():
    """The shape of `dvc exp show --json`: commits, each with groups of experiment revisions."""
    head = entry("main", 0.80)
    head["experiments"] = [
        {"revs": [entry("exp-a", 0.85, model="resnext", seconds=100.0)]},
        {"revs": [entry("exp-b", 0.90, dataset="cifar100")]},
        {"revs": [entry("exp-c", 0.70, test_set="bbbb")]},
    ]
    no_metrics = {"rev": "workspace", "name": None, "data": {"metrics": {}, "params": {}}, "experiments": None}
    return [no_metrics, head]


def test_rows_come_from_commits_and_experiments():
    table = rows(dvc_json())
    assert sorted(table["name"]) == ["exp-a", "exp-b", "exp-c", "main"]
    assert table.set_index("name").loc["main", "recipe"] == "epochs=3, optimizer=adam, learning_rate=0.001"


def test_ranking_flags_rows_that_are_not_comparable():
    table = rank(rows(dvc_json()))
    assert table["name"].tolist() == ["exp-b", "exp-a", "main", "exp-c"]
    verdicts = dict(zip(table["name"], table["comparable"]))
    assert verdicts["exp-b"] == "yes"  # the leader
    assert verdicts["exp-a"].startswith("no: dataset cifar10")


def test_comparability_follows_the_leaders_test_set():
    records = dvc_json()
    records[1]["experiments"].pop(1)  # without the cifar100 run, main's test set leads
    verdicts = dict(zip(*rank(rows(records))[["name", "comparable"]].values.T))
    assert verdicts == {"exp-a": "yes", "main": "yes", "exp-c": "no: another test set (100 images)"}


def test_build_writes_markdown_csv_and_chart(tmp_path):
    table = build(dvc_json(), tmp_path)
    assert len(table) == 4
    text = (tmp_path / "leaderboard.md").read_text()
    assert text.splitlines()[0].startswith("| rank | name | rev | model | top1")
    assert "| 1 | exp-b |" in text
    assert pd.read_csv(tmp_path / "leaderboard.csv")["top1"].tolist() == [0.9, 0.85, 0.8, 0.7]
    assert (tmp_path / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_workspace_and_unnamed_commits_are_labelled_readably():
    workspace = entry("w", 0.75)
    workspace.update(rev="workspace", name=None)
    commit = entry("c", 0.65)
    commit.update(rev="0123456789abcdef", name=None)
    table = rows([workspace, commit]).set_index("rev")
    assert table.loc["workspace", "name"] == "workspace"
    assert table.loc["0123456", "name"] == "0123456"


def test_counts_stay_integers_when_an_old_run_lacks_them():
    old = entry("old", 0.70)
    del old["data"]["metrics"]["metrics/eval.json"]["data"]["run"]  # written before runs were recorded
    table = rank(rows([entry("new", 0.80), old]))
    assert str(table["train_images"].dtype) == "Int64"
    new_row = markdown(table).splitlines()[2]
    assert "| 900 | 100 |" in new_row and "900.0" not in new_row
