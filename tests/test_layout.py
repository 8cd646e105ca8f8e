"""The package's shape: subpackages in pipeline order, imports one way, small modules and functions,
no private Keras imports, and no Keras in the stages that do not need it."""

import ast
import json
import subprocess
import sys

import pytest
import yaml
from imports import a_cycle, graph, import_closure, imports_of, modules

from fakes import REPO, write_params
from imgclf.features.featurize import featurize
from imgclf.features.shards import write_shard_record
from imgclf.params import FeaturesParams
from imgclf.runtime import keras_state
from projects import SMALL_BACKBONE

TINY = FeaturesParams(**SMALL_BACKBONE)
PACKAGE = REPO / "src" / "imgclf"
# Subpackages in pipeline order: each may import the ones before it, never one after. The model zoo (its params,
# builders and registry) comes before the training code that trains it; tools after everything.
ORDER = ["data", "features", "models", "training", "evaluation", "export", "tools"]
# Top-level modules that every subpackage may use; they import no subpackage themselves.
FOUNDATION = {"errors", "io", "progress", "hardware", "constraints", "runtime"}
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def part(name: str) -> str:
    """The subpackage (or top-level module) a dotted module name belongs to."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "imgclf"


def test_subpackages_mirror_the_pipeline_and_say_what_they_own():
    for sub in ORDER:
        doc = ast.get_docstring(ast.parse((PACKAGE / sub / "__init__.py").read_text()))
        assert doc and len(doc.split(".")[0]) < 200, f"{sub}/__init__.py needs a one-line docstring"
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= 13, top  # about a dozen: __init__, __main__, cli, stage, params, ... and the foundation


@pytest.mark.parametrize("path, name", list(modules()), ids=lambda v: str(v).rsplit("src/", 1)[-1])
def test_imports_go_one_way(path, name):
    """Imports named under TYPE_CHECKING count (a type named from a module is a dependency on its design), and
    importlib's are followed (the registry's discovery of the model modules)."""
    mine = part(name)
    for target in imports_of(path, name, design=True):
        theirs = part(target)
        if mine in FOUNDATION:
            assert theirs in FOUNDATION or target == "imgclf", f"{name} imports {target}: the foundation imports upward"
        if mine in ORDER:
            assert theirs not in {"stage", "cli", "__main__"}, f"{name} imports the entry point {target}"
            assert theirs not in ORDER or ORDER.index(theirs) <= ORDER.index(mine), f"{name} imports {target}, later"
        if mine == "models":
            assert target != "imgclf.params", f"{name}: params is assembled from the models, not the reverse"


def test_modules_are_short_and_no_private_keras_module_is_imported_but_in_keras_internals():
    for path, name in modules():
        text = path.read_text()
        assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{name}: {len(text.splitlines())} lines"
        for node in ast.walk(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            private = name == "imgclf.training.keras_internals"  # the one module that patches Keras' trainer
            assert private or not any(n.startswith("keras.src") for n in names), f"{name} imports keras.src"


def test_functions_are_short():
    for path, name in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                assert length <= MAX_FUNCTION_LINES, f"{name}.{node.name}: {length} lines"


PROBE = """
import json, runpy, sys
sys.argv = [sys.argv[1], *sys.argv[2:]]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exit:
    assert not exit.code, exit.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"keras", "tensorflow", "jax", "torch"})
print(json.dumps(heavy))
"""


def test_the_stages_that_need_no_keras_never_import_it(tmp_path):
    """validate, fetch, split and featurize's join start in about a second instead of paying Keras' import."""
    write_params(tmp_path, {"data": {"limit_per_class": 4, "val_fraction": 0.5}})
    stages, t = REPO / "stages", str(tmp_path)

    def probe(script: str, *args: str) -> None:
        done = subprocess.run([sys.executable, "-c", PROBE, str(stages / script), *args], cwd=t, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert json.loads(done.stdout.decode().strip().splitlines()[-1]) == [], f"{script} imported a framework"

    probe("validate.py", "--out", f"{t}/source.json")
    probe("fetch.py", "--out", f"{t}/raw")
    probe("split.py", "--raw", f"{t}/raw", "--out", f"{t}/split")
    with keras_state(0):  # the shard needs Keras: made here, in-process, as its stage would
        manifest, timing = featurize(tmp_path / "split", tmp_path / "shards" / "0", TINY, seed=0)
    manifest.save(tmp_path / "shards" / "0")
    write_shard_record(tmp_path / "shards" / "0", 0, 1, timing.pop("first"), timing)
    probe("featurize.py", "--shards", f"{t}/shards", "--out", f"{t}/features", "--timing", f"{t}/f.json")
    assert (tmp_path / "features" / "train.npy").exists()


def test_every_registered_keras_class_is_known_to_the_model_loader():
    """A class registered for saving but not imported by models/loading.py fails to load in a fresh process
    (how a fine-tuned model once failed in evaluate and export)."""
    from imgclf.models.loading import CUSTOM_OBJECTS

    registered = set()
    for path, name in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                "register_keras_serializable" in ast.unparse(d) for d in node.decorator_list
            ):
                registered.add(f"{name}.{node.name}")
    assert registered == {f"{cls.__module__}.{cls.__name__}" for cls in CUSTOM_OBJECTS}


def test_no_module_imports_one_that_imports_it_back():
    """No cycle in the import graph, function-level and TYPE_CHECKING imports and importlib included: a cycle
    hidden that way once tied the model registry to the trainers it forwarded to, and back."""
    assert a_cycle(graph(design=True)) is None, " -> ".join(a_cycle(graph(design=True)))


def test_the_model_registry_is_a_leaf_that_imports_nothing_from_training():
    reached, todo = set(), ["imgclf.models.registry"]
    edges = graph(design=True)
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(edges.get(name, ()))
    assert not {m for m in reached if m.startswith(("imgclf.training", "imgclf.params"))}, sorted(reached)


def test_no_library_module_takes_params_whole():
    """The stages and tools read params.yaml and hand down what it says (a section, a resolved training job);
    nothing below them takes ``Params``, so nothing below re-reads a setting or resolves an "auto" again."""
    for path, name in modules():
        if part(name) in ORDER[:-1] or part(name) in FOUNDATION:  # every subpackage but the tools
            tree = ast.parse(path.read_text())
            named = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
            assert "Params" not in named, f"{name} imports Params"


def test_the_tools_are_imported_by_no_stage_and_listed_in_no_stage_deps():
    """Editing `imgclf predict` or the leaderboard must rerun no stage for any experiment."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        stage = stage.get("do", stage)
        script = REPO / stage["cmd"].split()[1]
        assert not {m for m in import_closure(script) if m.startswith("imgclf.tools")}, f"{name} imports a tool"
        assert not [d for d in stage["deps"] if d.startswith("src/imgclf/tools") or d == "src/imgclf"], name
    importers = {n for n, targets in graph().items() if any(t.startswith("imgclf.tools") for t in targets)}
    assert {n for n in importers if not n.startswith("imgclf.tools")} == set()
    from imgclf.cli import COMMANDS  # the one place that names them, by module path

    assert all(module.startswith("imgclf.tools.") for module, _ in COMMANDS.values())
