"""`imgclf plan`: -S changes as DVC reads them, epochs sized to a budget from measured steps, the lr range test."""

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest

from fakes import REPO
from imgclf.errors import ParamsError
from imgclf.tools import measure as measure_module
from imgclf.tools.lr_find import lr_find, report
from imgclf.tools.measure import EpochTiming, measure
from imgclf.tools.plan import STAGE_OVERHEAD_S, check_arguments, plan, stale_inputs, with_changes
from imgclf.training.job import resolve_job


def test_changes_are_read_as_dvc_writes_them_and_validated():
    """params.yaml's keys, a model file's keys (listed there, or added with + or ++), as `dvc exp run -S`."""
    params = with_changes(
        REPO / "params.yaml",
        ["model=resnext", "recipes/resnext.yaml:depth=20", "recipes/resnext.yaml:++ema=1e-05", "recipe.epochs=3"],
    )
    assert params.model == "resnext" and params.models.resnext.depth == 20 and params.models.resnext.ema == 1e-05
    assert params.models.resnext.epochs == 3 and params.models.head.epochs == 40  # the head's file sets its own
    with pytest.raises(ParamsError, match=r"recipes/resnext\.yaml: depth must be 9n\+2"):
        with_changes(REPO / "params.yaml", ["recipes/resnext.yaml:depth=12"])
    with pytest.raises(ParamsError, match=r"-S 'model': write key=value"):
        with_changes(REPO / "params.yaml", ["model"])
    with pytest.raises(ParamsError, match=r"a params file is recipes/<model>\.yaml, one of head, linear_probe"):
        with_changes(REPO / "params.yaml", ["recipes/resnet.yaml:depth=20"])


def test_the_epochs_end_inside_the_budget():
    measured = {"epoch_s": 70.0, "warmup_s": 10.0}
    sized = plan(60, measured, "models.resnext.epochs")
    assert sized["epochs"] == int((3600 - STAGE_OVERHEAD_S - 10) // 70) and sized["fits"]
    assert sized["predicted_minutes"] <= 60 < sized["predicted_minutes"] + 70 / 60
    assert plan(0.5, measured, "k")["epochs"] == 1 and not plan(0.5, measured, "k")["fits"]  # said, not hidden


class Batches(list):
    num_images = 300
    batch_size = 100


def test_the_steps_are_timed_in_the_precision_the_run_trains_in(monkeypatch):
    """On a CPU with AVX512-BF16, mixed_bfloat16 trains airbench 1.26x as fast as float32 and the MobileNets 0.7x:
    a plan timed in float32 would size such a run wrongly."""
    seen = []

    def timing(*args):
        seen.append(keras.config.dtype_policy().name)
        return EpochTiming(Batches([0, 0, 0]), (32, 32, 3), 1.0, 0.0, 3.0, 3, 0.0, 0.0, 6)

    monkeypatch.setattr(measure_module, "epoch_timing", timing)
    for precision in ("float32", "mixed_bfloat16"):
        params = with_changes(REPO / "params.yaml", ["model=airbench", f"train.mixed_precision={precision}"])
        job = resolve_job(params.model, params.model_recipe, params.seed, params.train)
        assert measure(job, Path("split"), Path("features"))["precision"] == precision
    assert seen == ["float32", "mixed_bfloat16"]
    assert keras.config.dtype_policy().name == "float32"  # put back after


def test_fine_tunings_head_phase_comes_out_of_the_budget():
    alone = plan(30, {"epoch_s": 120.0, "warmup_s": 12.0}, "models.finetune.epochs")
    with_head = plan(30, {"epoch_s": 120.0, "warmup_s": 12.0, "head_s": 130.0}, "models.finetune.epochs")
    assert (alone["epochs"], with_head["epochs"]) == (14, 13)  # 1800 - 30 - 12 = 1758 s; less 130: 1628 s
    assert with_head["predicted_minutes"] == pytest.approx((30 + 12 + 130 + 13 * 120) / 60, abs=0.05)


def test_the_lr_range_test_suggests_a_rate_below_the_one_where_the_loss_blows_up():
    from imgclf.models.head import HeadParams, build_head
    from imgclf.training.batches import Batches

    rng = np.random.default_rng(0)
    labels = np.arange(256) % 2
    x = (rng.normal(size=(256, 8)) + labels[:, None] * 2).astype("float32")
    model = build_head(8, 2, [16], 0.0, np.zeros(8), np.ones(8), seed=0)
    found = lr_find(
        model, Batches(x, labels, 2, 32, seed=0), dataclasses.replace(HeadParams(), optimizer="sgd"), steps=120
    )
    assert 1e-6 < found["suggested_learning_rate"] < found["lowest_loss_at"] < 10
    assert found["suggested_learning_rate"] == pytest.approx(found["lowest_loss_at"] / 10)
    assert report(found, "recipes/head.yaml:++").endswith(
        f"try -S recipes/head.yaml:++learning_rate={found['suggested_learning_rate']:.2g}"
    )


def test_the_lr_range_test_suggests_nothing_where_the_loss_never_falls():
    """Pictures that say nothing of their (balanced) labels: no rate lowers the loss, and a suggestion would be
    wherever noise put the lowest point (CI once printed 1e-7, a tenth of the first rate, on 12 pictures)."""
    from imgclf.models.head import HeadParams, build_head
    from imgclf.training.batches import Batches

    labels = np.arange(256) % 2
    model = build_head(8, 2, [16], 0.0, np.zeros(8), np.ones(8), seed=0)
    found = lr_find(model, Batches(np.zeros((256, 8), "float32"), labels, 2, 32, seed=0), HeadParams(), steps=120)
    assert found["suggested_learning_rate"] is None
    assert found["lowest_loss"] > 0.9 * found["start_loss"] and found["start_loss"] == pytest.approx(
        np.log(2), abs=0.05
    )
    assert "inconclusive" in report(found, "recipes/head.yaml:++") and "learning_rate=" not in report(
        found, "recipes/head.yaml:++"
    )


@pytest.mark.parametrize(
    "minutes, steps, message",
    [
        (float("nan"), 10, r"--minutes must be a number of minutes in \(0, 10080\] \(a week\); got nan"),
        (float("inf"), 10, r"--minutes must be .* got inf"),
        (0, 10, r"--minutes must be .* got 0"),
        (1e9, 10, r"--minutes must be .* got 1e\+09"),
        (60, -5, r"--steps must be at least 2 .* got -5"),
        (60, 0, r"--steps must be at least 2 .* got 0"),
    ],
)
def test_nonsense_arguments_get_one_line_naming_them(minutes, steps, message):
    import argparse

    with pytest.raises(ParamsError, match=message):
        check_arguments(argparse.Namespace(minutes=minutes, steps=steps))


def test_data_prepared_for_other_params_is_refused_naming_the_key_and_the_stage(tmp_path):
    """Timing the folder data/ holds would size a run on other data (900 pictures where the -S name 129)."""
    import yaml

    params = with_changes(REPO / "params.yaml", ["model=airbench", "data.limit_per_class=50"])
    recorded = {"seed": 0, "data.limit_per_class": 100, "data.val_fraction": 0.1, "data.test_limit_per_class": None}
    stages = {"fetch": {"params": {"params.yaml": {"seed": 0, "data.dataset": "digits"}}}}
    stages["split"] = {"params": {"params.yaml": recorded}}
    lock = tmp_path / "dvc.lock"
    lock.write_text(yaml.safe_dump({"schema": "2.0", "stages": stages}))
    assert stale_inputs(params, False, lock).startswith("the data in data/ was prepared with data.limit_per_class=100")
    assert "`dvc exp run <the same -S> split`" in stale_inputs(params, False, lock)
    prepared = with_changes(REPO / "params.yaml", ["data.limit_per_class=100"])
    assert stale_inputs(prepared, False, lock) is None
    assert "dvc.lock has no stage 'featurize'" in stale_inputs(prepared, True, lock)
    assert "dvc.lock has no stage 'fetch'" in stale_inputs(params, False, tmp_path / "absent.lock")


def test_an_epochs_cost_besides_its_steps_is_in_the_plan(monkeypatch, tmp_path):
    """On a small folder an epoch is mostly validation, logging and the checkpoint save (0.39 s an epoch against
    0.15 s planned from steps alone): the planner times whole epochs as the train stage runs them. A save made
    0.3 s slower must show in the planned epoch."""
    import time

    from imgclf.models.head import HeadParams, build_head
    from imgclf.training import resume
    from imgclf.training.batches import Batches

    saved = resume.Checkpoint.save

    def slow_save(self, *args, **kwargs):
        time.sleep(0.3)
        return saved(self, *args, **kwargs)

    monkeypatch.setattr(resume.Checkpoint, "save", slow_save)
    rng = np.random.default_rng(0)
    labels = np.arange(96) % 3
    x = (rng.normal(size=(96, 8)) + labels[:, None]).astype("float32")
    train, val = Batches(x, labels, 3, 32, seed=0), Batches(x[:32], labels[:32], 3, 32)
    model = build_head(8, 3, [8], 0.0, np.zeros(8), np.ones(8), seed=0)
    step_s, _, short_epoch_s, short_steps, overhead_s, _, timed = measure_module.timed_epochs(
        model, HeadParams(), with_changes(REPO / "params.yaml", []).train, train, val, steps=10
    )
    assert short_steps == 3 and timed == 6  # the whole epoch (3 batches); steps 2-3 of epochs 2, 3 and 4
    assert overhead_s >= 0.3 and short_epoch_s >= 0.3 + step_s
