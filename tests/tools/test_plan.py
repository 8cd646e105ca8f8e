"""`imgclf plan`: -S changes as DVC reads them, epochs sized to a budget from measured steps, the lr range test."""

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest

from fakes import REPO
from imgclf.errors import ParamsError
from imgclf.tools import plan as plan_module
from imgclf.tools.lr_find import lr_find, report
from imgclf.tools.plan import STAGE_OVERHEAD_S, EpochTiming, measure, plan, with_changes


def test_changes_are_read_as_dvc_writes_them_and_validated():
    params = with_changes(
        REPO / "params.yaml", ["model=resnext", "models.resnext.depth=20", "models.resnext.ema=1e-05"]
    )
    assert params.model == "resnext" and params.models.resnext.depth == 20 and params.models.resnext.ema == 1e-05
    with pytest.raises(ParamsError, match=r"models\.resnext\.depth must be 9n\+2"):
        with_changes(REPO / "params.yaml", ["models.resnext.depth=12"])
    with pytest.raises(ParamsError, match=r"-S 'model': write key=value"):
        with_changes(REPO / "params.yaml", ["model"])


def test_the_epochs_end_inside_the_budget():
    measured = {"epoch_s": 70.0, "warmup_s": 10.0}
    sized = plan(60, measured, "models.resnext.epochs")
    assert sized["epochs"] == int((3600 - STAGE_OVERHEAD_S - 10) // 70) and sized["fits"]
    assert sized["predicted_minutes"] <= 60 < sized["predicted_minutes"] + 70 / 60
    assert plan(0.5, measured, "k")["epochs"] == 1 and not plan(0.5, measured, "k")["fits"]  # said, not hidden


class Batches(list):
    num_images = 300


def test_the_steps_are_timed_in_the_precision_the_run_trains_in(monkeypatch):
    """On a CPU with AVX512-BF16, mixed_bfloat16 trains airbench 1.26x as fast as float32 and the MobileNets 0.7x:
    a plan timed in float32 would size such a run wrongly."""
    seen = []

    def timing(*args):
        seen.append(keras.config.dtype_policy().name)
        return EpochTiming(Batches([0, 0, 0]), (32, 32, 3), 1.0, 0.0, 3.0)

    monkeypatch.setattr(plan_module, "epoch_timing", timing)
    for precision in ("float32", "mixed_bfloat16"):
        params = with_changes(REPO / "params.yaml", ["model=airbench", f"train.mixed_precision={precision}"])
        assert measure(params, Path("split"), Path("features"))["precision"] == precision
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
    assert report(found, "models.head").endswith(
        f"try models.head.learning_rate={found['suggested_learning_rate']:.2g}"
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
    assert "inconclusive" in report(found, "models.head") and "learning_rate=" not in report(found, "models.head")
