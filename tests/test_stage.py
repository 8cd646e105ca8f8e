"""Stage plumbing: params.yaml must not change under a running stage; errors are one line."""

import pytest

from fakes import REPO
from imgclf.errors import ParamsError
from imgclf.params import load_params
from imgclf.stage import stage_output


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
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
        (workspace / "params.yaml").write_text(text.replace("    epochs: 40", "    epochs: 3", 1))  # a second -S
    assert list((workspace / "out").iterdir()) == []  # the previous (empty) output, untouched
    assert [p.name for p in workspace.iterdir() if p.name.startswith(".")] == []


def test_an_edit_that_keeps_every_value_is_not_a_change(workspace):
    params = load_params()
    with stage_output(workspace / "out", params), open(workspace / "params.yaml", "a") as fh:
        fh.write("# a comment added while training\n")
    assert (workspace / "out").is_dir()
