"""Interrupted training as users meet it: a SIGKILLed run resumed, Ctrl-C."""

import signal

import pytest
import yaml

from projects import interrupt_after_epoch, ran, run, tiny

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory):
    return tiny(tmp_path_factory.mktemp("tiny"))


STAGE_ARGS = [
    *("--split", "data/split", "--features", "data/features", "--checkpoints", "checkpoints"),
    *("--out", "data/train", "--timing", "metrics/train.json", "--progress", "metrics/progress.csv"),
]


def trained_files(root) -> dict:
    """What training wrote: the model file (saved byte-reproducibly), train.json and the dvclive curves."""
    folder = root / "data" / "train"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_killed_training_resumes_to_an_identical_model(tiny_project):
    # A configuration never run before, so DVC has no cached result to restore instead. The head's
    # epochs are short, so the run is killed while it trains; dropout makes its random state matter.
    # (tests/training/test_resume.py resumes an image model with augmentation and MixUp in-process.)
    head = "recipes/head.yaml:"
    new = ["-S", f"{head}epochs=30", "-S", f"{head}patience=0", "-S", f"{head}learning_rate=0.0005"]
    code, _, _ = interrupt_after_epoch(tiny_project, ["dvc", "exp", "run", *new, "train"], 2, signal.SIGKILL)
    assert code != 0
    resumed = run(tiny_project, "dvc", "repro", "train")
    assert "resuming models.head after epoch" in resumed.stdout + resumed.stderr
    assert ran(resumed) == ["validate", "train"]
    after_resume = trained_files(tiny_project)
    assert not list((tiny_project / "checkpoints").glob("*/*"))  # removed once training succeeded
    straight = run(tiny_project, "dvc", "repro", "--force", "--single-item", "train")  # from scratch, no checkpoint
    assert "resuming" not in straight.stdout + straight.stderr
    assert trained_files(tiny_project) == after_resume  # weights, epochs, curves: byte for byte
    assert '"epochs_run": 30' in after_resume["train.json"].decode()


def test_ctrl_c_ends_with_one_line_not_a_traceback_and_writes_nothing(tiny_project):
    """It once ended 0 under the parallel suite: a SIGINT landing in a ``__del__`` is dropped by Python, and
    training went on; and once, raised inside a step, it aborted the process before it printed anything
    (tests/training/test_fit.py checks both are handled). The run is frozen the moment epoch 1 is checkpointed
    and interrupted there (projects.interrupt_after_epoch), so it cannot end first."""
    run(tiny_project, "dvc", "repro", "train")  # a model to keep untouched, when this test runs alone
    params = tiny_project / "recipes" / "head.yaml"
    original = params.read_text()
    raw = yaml.safe_load(original)
    raw.update(epochs=5, patience=0)
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    before = trained_files(tiny_project)
    try:
        cmd = ["python", "stages/train.py", *STAGE_ARGS]  # the stage alone: DVC would delete data/train first
        code, out, err = interrupt_after_epoch(tiny_project, cmd, 1, signal.SIGINT)
        after = trained_files(tiny_project)
        dvc_code, dvc_out, dvc_err = interrupt_after_epoch(
            tiny_project, ["dvc", "repro", "--force", "--single-item", "train"], 1, signal.SIGINT
        )
    finally:
        params.write_text(original)
    assert code == 130 and err.strip().splitlines()[-1] == "interrupted: nothing was written to the stage's outputs"
    assert after == before and before  # the previous model, train.json and curves, untouched
    assert dvc_code != 0 and "interrupted: nothing was written to the stage's outputs" in dvc_err
    assert "Traceback" not in out + err + dvc_out + dvc_err
