"""params.yaml, the params dataclasses and dvc.yaml must agree, so DVC reruns exactly what a change touches."""

import pytest
import yaml
from imports import import_closure, module_file

from fakes import REPO
from imgclf.params import MODELS

DVC = yaml.safe_load((REPO / "dvc.yaml").read_text())
# A foreach stage's definition is under `do`.
STAGES = {name: stage.get("do", stage) for name, stage in DVC["stages"].items()}
PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
PACKAGE = REPO / "src" / "imgclf"
# Modules that shape how a stage runs or reports, not what it computes; a change to
# them should not rerun the pipeline, so stages need not list them.
PLUMBING = {
    "imgclf",
    "imgclf.stage",
    "imgclf.cli",
    "imgclf.errors",
    "imgclf.params",
    "imgclf.constraints",
    "imgclf.progress",
    "imgclf.io",
    "imgclf.hardware",
}


def leaves(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def declared_params(stage: dict) -> set[str]:
    """Dotted keys a stage declares; a model's file (``recipes/${model}.yaml:``, whole) stands for its section."""
    keys = set()
    for entry in stage.get("params", []):
        if isinstance(entry, dict):  # another params file, whole
            (file,) = entry
            assert file == "recipes/${model}.yaml", file
            keys.update(f"models.{m}" for m in MODELS)
        else:
            keys.add(entry)
    return keys


def covered(key: str, declared: set[str]) -> bool:
    return any(key == d or key.startswith(d + ".") for d in declared)


MODEL_FILES = {m: yaml.safe_load((REPO / "recipes" / f"{m}.yaml").read_text()) or {} for m in MODELS}
ALL_LEAVES = set(leaves(PARAMS)) | {f"models.{m}.{leaf}" for m, tree in MODEL_FILES.items() for leaf in leaves(tree)}


@pytest.mark.parametrize("name", list(STAGES))
def test_declared_params_exist(name):
    for key in declared_params(STAGES[name]):
        assert any(leaf == key or leaf.startswith(key + ".") for leaf in ALL_LEAVES), (
            f"{name}: {key} not in params.yaml"
        )


def test_every_knob_is_read_by_some_stage():
    declared = set().union(*(declared_params(s) for s in STAGES.values()))
    orphans = sorted(k for k in ALL_LEAVES if not covered(k, declared))
    assert not orphans, f"params.yaml keys no stage declares: {orphans}"


@pytest.mark.parametrize("name", list(STAGES))
def test_stage_deps_cover_the_code_it_runs(name):
    stage = STAGES[name]
    script = stage["cmd"].split()[1]
    deps = set(stage["deps"])
    assert script in deps
    for module in sorted(import_closure(REPO / script, PLUMBING) - PLUMBING):
        rel = module_file(module).relative_to(REPO).as_posix()
        assert any(rel == d or rel.startswith(d.rstrip("/") + "/") for d in deps), f"{name}: add {rel} to its deps"


@pytest.mark.parametrize("name", list(STAGES))
def test_stage_script_is_thin(name):
    script = REPO / STAGES[name]["cmd"].split()[1]
    assert len(script.read_text().splitlines()) <= 60


def test_no_table_is_drawn_twice_with_guessed_axes():
    """A stage-level plot output is drawn by `dvc plots show` with DVC's guesses (the last column as y: after a
    fine-tune, progress.csv's text column 'phase', an empty chart); the tables the top-level plots draw are
    declared as plain outputs."""
    drawn = {
        file for plot in DVC["plots"] if isinstance(plot, dict) for spec in plot.values() for file in spec.get("y", {})
    }
    staged = {next(iter(e)) if isinstance(e, dict) else e for stage in STAGES.values() for e in stage.get("plots", [])}
    assert drawn and not drawn & staged, drawn & staged
