"""Stage plumbing: params.yaml must not change under a running stage; errors are one line, a full disk's too."""

import errno
import shutil
import subprocess
import sys

import pytest

from fakes import REPO
from imgclf.errors import ParamsError
from imgclf.params import load_params
from imgclf.stage import out_of_space, stage_output


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    shutil.copytree(REPO / "recipes", tmp_path / "recipes")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_outputs_are_kept_when_params_yaml_is_unchanged(workspace):
    params = load_params()
    with stage_output(workspace / "out", params) as tmp:
        (tmp / "model.keras").write_text("weights")
    assert (workspace / "out" / "model.keras").read_text() == "weights"


def test_a_params_change_during_the_stage_writes_nothing(workspace):
    params = load_params()
    (workspace / "out").mkdir()
    expected = r"params\.yaml changed while this stage ran .* nothing was written\. Run one experiment at a time"
    with pytest.raises(ParamsError, match=expected), stage_output(workspace / "out", params) as tmp:
        (tmp / "model.keras").write_text("trained with epochs 40")
        text = (workspace / "params.yaml").read_text()
        (workspace / "params.yaml").write_text(text.replace("  epochs: 15", "  epochs: 3", 1))  # a second -S
    assert list((workspace / "out").iterdir()) == []  # the previous (empty) output, untouched
    assert [p.name for p in workspace.iterdir() if p.name.startswith(".")] == []


def test_an_edit_that_keeps_every_value_is_not_a_change(workspace):
    params = load_params()
    with stage_output(workspace / "out", params), open(workspace / "params.yaml", "a") as fh:
        fh.write("# a comment added while training\n")
    assert (workspace / "out").is_dir()


FILL_THE_DISK = """
import sys
from pathlib import Path
from imgclf.io import new_array, write_json
from imgclf.params import load_params
from imgclf.stage import run_stage, stage_output

def main():
    with stage_output(sys.argv[1], load_params()) as tmp:
        write_json(tmp / "manifest.json", {"a": 1})
        new_array(tmp / "train.npy", (int(sys.argv[2]),), "float32")

run_stage(main)
"""


def test_a_full_disk_ends_the_stage_with_one_line_naming_the_file_and_leaves_nothing(workspace, small_disk):
    """An embedding cache that does not fit: before, featurize died of SIGBUS ("exited with -7", no message)
    and left its temporary folder; with room freed, the same stage must then succeed."""
    script = workspace / "fill.py"
    script.write_text(FILL_THE_DISK)
    out = small_disk / "features"
    env = {"PYTHONPATH": ":".join(sys.path), "DVC_STAGE": "featurize_shard@0"}
    failed = subprocess.run(
        [sys.executable, str(script), str(out), str(2_000_000)], capture_output=True, text=True, env=env
    )
    assert failed.returncode == 1, failed.stderr
    assert failed.stderr.strip().splitlines() == [failed.stderr.strip().splitlines()[-1]] and failed.stderr.startswith(
        "error: featurize_shard@0: no space left on device writing "
    )
    assert "/train.npy (" in failed.stderr and "MB free); nothing was written to the stage's outputs" in failed.stderr
    assert list(small_disk.iterdir()) == []  # no output, no temporary
    done = subprocess.run([sys.executable, str(script), str(out), "1000"], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and sorted(p.name for p in out.iterdir()) == ["manifest.json", "train.npy"]


def test_tensorflows_full_disk_errors_are_known_by_their_text():
    """SavedModel writes end in a ResourceExhaustedError that only says it in words."""

    class ResourceExhaustedError(Exception):
        pass

    saved = ResourceExhaustedError(
        "data/.export.tmp-1-x/saved/variables/variables.data-00000-of-00001; No space left on device"
    )
    assert out_of_space(saved) == "data/.export.tmp-1-x/saved/variables/variables.data-00000-of-00001"
    wrapped = RuntimeError("saving failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device", "checkpoints/x/model.npz")
    assert out_of_space(wrapped) == "checkpoints/x/model.npz"
    assert out_of_space(OSError(errno.EACCES, "Permission denied", "x")) is None
