"""The leaderboard from rows shaped as dvc.api.exp_show() returns them: groups of seeds, one table per test set."""

import pandas as pd
import pytest

from imgclf.tools.leaderboard import build, grouped, markdown, ranked, runs
from imgclf.tools.runs import _cli_rows, run_record


def row(name, top1, seed=0, dataset="cifar10", path="", lr=0.001, test_set="aaaa", test_images=100, model="head"):
    """A flat row as dvc.api.exp_show() gives it (unambiguous columns unprefixed)."""
    return {
        "Experiment": name,
        "rev": f"{name}0123456789",
        "typ": "branch_commit",
        "top1": top1,
        "top5": min(1.0, top1 + 0.1),
        "macro_f1": top1 - 0.01,
        "balanced_accuracy": top1,
        "ece": 0.05,
        "tta": "none",
        "train.params": 1000,
        "train.epochs_run": 3,
        "run.model": model,
        "run.device": "CPU: x",
        "run.dataset": dataset,
        "run.test_images": test_images,
        "run.test_set": test_set,
        "metrics/train.json:seconds": 10.0,
        "metrics/train.json:images_per_second": 50.0,
        "seed": seed,
        "model": model,
        "data.dataset": dataset,
        "data.path": path,
        f"recipes/{model}.yaml:learning_rate": lr,  # the model's file, as dvc.yaml declares it for the run
        "params.yaml:recipe.epochs": 3,  # the shared recipe, which the model's section inherits
    }


def test_runs_that_differ_only_in_seed_are_one_group_with_mean_std_and_n():
    rows = [row("a0", 0.80, seed=0), row("a1", 0.84, seed=1), row("a2", 0.82, seed=2), row("b0", 0.90, lr=0.0003)]
    table = ranked(grouped(runs(rows)), "top1_mean")
    assert table["runs"].tolist() == ["b0", "a0, a1, a2"]  # ranked by the mean
    seeds = table.set_index("runs").loc["a0, a1, a2"]
    assert seeds["n"] == 3 and seeds["seeds"] == "0, 1, 2"
    assert seeds["top1_mean"] == pytest.approx(0.82) and seeds["top1_std"] == pytest.approx(0.02)
    text = markdown(table, by_run=False)
    assert "0.8200 ± 0.0200" in text
    assert "0.9000 ± –" in text and "nan" not in text.lower()  # a single seed has no spread to show


def test_each_test_set_gets_its_own_table_and_folders_their_base_name():
    rows = [
        row("c10", 0.90, dataset="cifar10"),
        row("c100", 0.60, dataset="cifar100"),
        row("mine", 0.99, dataset="folder", path="/data/photos/cifar10-jpg.tar.gz", test_images=64),
    ]
    table = ranked(grouped(runs(rows)), "top1_mean")
    assert (table["rank"] == 1).all()  # three test sets, three rankings: a 64-picture folder leads nothing else
    text = markdown(table, by_run=False)
    assert "## cifar10, 100 test pictures" in text and "## cifar100, 100 test pictures" in text
    assert "## cifar10-jpg.tar.gz, 64 test pictures" in text


def test_a_workspace_identical_to_an_experiment_is_not_a_second_row():
    workspace = {**row("x", 0.85), "Experiment": None, "rev": "workspace"}
    other = {**row("y", 0.85, lr=0.01), "Experiment": None, "rev": "workspace"}
    assert runs([row("x", 0.85), workspace])["name"].tolist() == ["x"]
    assert sorted(runs([row("x", 0.85), other])["name"]) == ["workspace", "x"]  # different params: kept


def test_by_run_keeps_one_row_per_run():
    rows = [row("a0", 0.80, seed=0), row("a1", 0.84, seed=1)]
    table = ranked(runs(rows), "top1")
    assert table["name"].tolist() == ["a1", "a0"]
    assert "| 1 | a1 |" in markdown(table, by_run=True)


def test_build_writes_markdown_csv_and_a_chart_panel_per_test_set(tmp_path):
    rows = [row("a0", 0.80), row("a1", 0.82, seed=1), row("c100", 0.5, dataset="cifar100")]
    table = build(rows, tmp_path)
    assert len(table) == 2
    assert pd.read_csv(tmp_path / "leaderboard.csv")["n"].tolist() == [2, 1]
    assert (tmp_path / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "leaderboard.md").read_text().count("## ") == 2


def test_a_zoomed_chart_draws_dots_and_says_where_its_axis_starts():
    """Bars on an axis that starts at 0.87 draw false ratios between scores 0.88 and 0.90."""
    from imgclf.tools.leaderboard import chart_figure

    table = ranked(runs([row("a0", 0.90), row("b0", 0.88, seed=0), row("c0", 0.05, dataset="digits")]), "top1")
    zoomed, full = chart_figure(table, by_run=True).axes
    assert not zoomed.patches and not full.patches  # no bars
    assert zoomed.get_xlim()[0] == pytest.approx(0.78) and zoomed.get_xlabel().endswith("the axis starts at 0.78")
    assert full.get_xlim()[0] == 0 and "starts" not in full.get_xlabel()


def test_the_cli_json_gives_the_same_records_as_the_api():
    """`--all-commits` reads `dvc exp show -A --json`; its records must read like the API's rows."""
    api = row("a0", 0.80)
    cli = [
        {
            "rev": api["rev"],
            "name": "a0",
            "data": {
                "metrics": {
                    "metrics/eval.json": {
                        "data": {
                            "top1": 0.80,
                            "top5": 0.9,
                            "macro_f1": 0.79,
                            "balanced_accuracy": 0.8,
                            "ece": 0.05,
                            "tta": "none",
                            "train": {"params": 1000, "epochs_run": 3},
                            "run": {
                                "model": "head",
                                "device": "CPU: x",
                                "dataset": "cifar10",
                                "test_images": 100,
                                "test_set": "aaaa",
                            },
                        }
                    },
                    "metrics/train.json": {"data": {"seconds": 10.0, "images_per_second": 50.0}},
                },
                "params": {
                    "params.yaml": {
                        "data": {
                            "seed": 0,
                            "model": "head",
                            "data": {"dataset": "cifar10", "path": ""},
                            "models": {"head": {"learning_rate": 0.001, "epochs": 3}},
                        }
                    }
                },
            },
            "experiments": None,
        }
    ]
    keys = ["seed", "model", "data.dataset", "data.path", "models.head.learning_rate", "models.head.epochs"]
    assert run_record(_cli_rows(cli)[0], keys) == run_record(api, keys)


def test_rows_without_metrics_are_skipped_and_none_at_all_is_an_error():
    from imgclf.errors import PipelineError

    queued = {"Experiment": "q", "rev": "abc", "top1": None}
    assert runs([row("a", 0.5), queued])["name"].tolist() == ["a"]
    with pytest.raises(PipelineError, match=r"no experiment or commit has metrics/eval\.json yet"):
        runs([queued])


def test_what_dvc_could_not_read_counts_as_missing_not_as_a_crash():
    failed = {**row("failed", 0.0), "top1": "!"}  # exp_show's mark for a file it could not read
    half = {**row("half", 0.6), "metrics/train.json:seconds": "!", "train.params": "!"}
    table = runs([row("a", 0.5), failed, half])
    assert table["name"].tolist() == ["a", "half"]
    assert pd.isna(table.set_index("name").loc["half", "train_seconds"])
    assert grouped(table)["train_seconds"].notna().any()


def test_whole_numbers_that_dvc_gives_as_floats_show_as_integers():
    table = runs([{**row("a", 0.5), "models.head.epochs": 40.0, "models.head.learning_rate": 0.001}])
    assert table["recipe"].iloc[0] == "epochs=40, learning_rate=0.001"


def test_the_recipe_shows_every_key_of_it_that_differs_between_runs_of_the_model():
    base = {**row("frozen", 0.85), "models.head.label_smoothing": 0.1, "models.head.dropout": 0.3}
    adapted = {**row("smoothed", 0.88), "models.head.label_smoothing": 0.0, "models.head.dropout": 0.3}
    other = {**row("r", 0.7, model="resnext"), "models.resnext.label_smoothing": 0.0}
    table = runs([base, adapted, other]).set_index("name")
    assert table.loc["frozen", "recipe"] == "epochs=3, learning_rate=0.001, label_smoothing=0.1"
    assert table.loc["smoothed", "recipe"] == "epochs=3, learning_rate=0.001, label_smoothing=0"
    assert table.loc["r", "recipe"] == "epochs=3, learning_rate=0.001"  # alone: nothing of its recipe differs


def test_one_result_under_several_names_counts_once():
    """The README's sweep seen from main: the workspace, main and a tag all show the seed-0 run, and
    `--all-commits` shows it once per commit that carries its metrics. n counts runs, not names."""
    seed0 = row("c10-s0", 0.80, seed=0)
    names = [
        {**seed0, "Experiment": None, "rev": "workspace"},
        {**seed0, "Experiment": "main", "rev": "abcdef0123"},
        {**seed0, "Experiment": "v1.0", "rev": "abcdef0123"},
        {**seed0, "Experiment": None, "rev": "0123456789"},  # a later commit that did not touch the metrics
    ]
    table = grouped(runs([seed0, *names, row("c10-s1", 0.84, seed=1), row("c10-s2", 0.82, seed=2)]))
    assert table["n"].tolist() == [3] and table["seeds"].tolist() == ["0, 1, 2"]
    assert table["top1_mean"].iloc[0] == pytest.approx(0.82)


def test_params_that_do_not_change_the_model_do_not_split_a_group():
    rows = [
        row("a0", 0.80, seed=0),
        {**row("a1", 0.84, seed=1), "export.quantize": "int8", "features.shards": [0, 1]},
        {**row("a2", 0.82, seed=2), "models.resnext.epochs": 300, "evaluate.gallery_size": 8},
    ]
    assert grouped(runs(rows))["n"].tolist() == [3]
    assert len(grouped(runs([*rows, {**row("b", 0.7), "features.backbone": "mobilenet"}]))) == 2  # this one does


def test_by_run_shows_whole_seeds_and_the_setup_that_differs():
    rows = [
        {**row("r50", 0.80, seed=0.0), "features.backbone": "resnet50", "features.image_size": 224},
        {**row("mnet", 0.75, seed=1.0), "features.backbone": "mobilenet", "features.image_size": 224},
    ]
    table = ranked(runs(rows), "top1")
    text = markdown(table, by_run=True)
    assert "| 1 | r50 | r500123 | head | 0 | 0.8000 |" in text and "| head | 1 | 0.7500 |" in text  # not 0.0, 1.0
    assert table["setup"].tolist() == ["features.backbone=resnet50", "features.backbone=mobilenet"]
    assert "features.backbone=mobilenet" in markdown(ranked(grouped(runs(rows)), "top1_mean"), by_run=False)


def test_a_run_left_at_auto_groups_with_one_that_set_what_auto_became():
    """Fine-tuning's ``auto`` recipe resolves per backbone at train time, and eval.json says to what."""
    by_hand = {
        **row("hand", 0.88, seed=0, model="finetune"),
        "models.finetune.batchnorm": "adapted",
        "models.finetune.head.epochs": 40,
        # an eval.json from before recipe_used, beside one with it: exp_show fills the text "None" in
        "train.recipe_used.batchnorm": "None",
        "train.recipe_used.epochs": "None",
    }
    auto = {
        **row("auto", 0.87, seed=1, model="finetune"),
        "models.finetune.batchnorm": "auto",
        "models.finetune.epochs": "auto",
        "models.finetune.head.epochs": 40,
        "train.recipe_used.batchnorm": "adapted",
        "train.recipe_used.epochs": 3,
    }
    table = grouped(runs([by_hand, auto]))
    assert table["n"].tolist() == [2] and table["seeds"].tolist() == ["0, 1"]
    # a run that auto made different stays apart, and the head's own epochs are not the recipe's
    frozen = {**auto, "Experiment": "frozen", "rev": "frozen0123", "train.recipe_used.batchnorm": "frozen"}
    assert grouped(runs([by_hand, auto, frozen]))["n"].tolist() == [2, 1]
    assert runs([auto]).iloc[0]["config"]["models.finetune.head.epochs"] == 40
    assert runs([by_hand]).iloc[0]["recipe"] == "epochs=3, learning_rate=0.001"


def test_the_readme_names_every_param_that_does_not_split_a_group():
    from fakes import REPO
    from imgclf.tools.leaderboard import INERT

    said = (REPO / "README.md").read_text().replace("\n", " ")
    assert all(f"`{key.rstrip('.')}" in said for key in INERT), INERT
