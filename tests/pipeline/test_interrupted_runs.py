"""Interrupted training as users meet it: a SIGKILLed run resumed, Ctrl-C."""

import signal

import pytest

from projects import interrupt_after_epoch, metrics, ran, run, tiny

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory):
    return tiny(tmp_path_factory.mktemp("tiny"))


def test_killed_training_resumes_to_identical_metrics(tiny_project):
    # A configuration never run before, so DVC has no cached result to restore instead. The head's
    # epochs are short, so the run is killed while it trains; dropout makes its random state matter.
    # (tests/test_resume.py resumes an image model with augmentation and MixUp in-process.)
    new = ["-S", "models.head.epochs=60", "-S", "models.head.patience=0", "-S", "models.head.learning_rate=0.0005"]
    code, _, _ = interrupt_after_epoch(tiny_project, ["dvc", "exp", "run", *new], 2, signal.SIGKILL)
    assert code != 0
    resumed = run(tiny_project, "dvc", "repro")
    assert "resuming models.head after epoch" in resumed.stdout + resumed.stderr
    assert ran(resumed) == ["validate", "train", "evaluate"]
    after_resume = metrics(tiny_project)
    history = (tiny_project / "metrics" / "history.csv").read_text()
    assert not list((tiny_project / "checkpoints").glob("*/*"))  # removed once training succeeded
    straight = run(tiny_project, "dvc", "repro", "--force", "--downstream", "train")  # from scratch, no checkpoint
    assert "resuming" not in straight.stdout + straight.stderr
    uninterrupted = metrics(tiny_project)
    for key in ("top1", "top5", "macro_f1", "log_loss"):
        assert after_resume[key] == uninterrupted[key], key
    assert after_resume["train"]["epochs_run"] == uninterrupted["train"]["epochs_run"] == 60
    assert (tiny_project / "metrics" / "history.csv").read_text() == history


def test_ctrl_c_ends_with_one_line_not_a_traceback(tiny_project):
    cmd = ["dvc", "repro", "--force", "--single-item", "train"]
    code, out, err = interrupt_after_epoch(tiny_project, cmd, 1, signal.SIGINT)
    assert code != 0
    assert "interrupted: nothing was written to the stage's outputs" in err
    assert "Traceback" not in out + err
