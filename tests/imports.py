"""The package's import graph, read from the source: what tests/test_layout.py and tests/test_dvc_contract.py check.

Imports are read with ``ast``, function-level ones included (they run as surely as
top-level ones), and ``importlib.import_module`` calls followed (a literal name,
or ``f"{__package__}.{...}"``: every module of that package). The run-time graph
leaves out what sits under ``if TYPE_CHECKING:``, which never runs (what a
stage's code needs, for dvc.yaml's deps); the design graph keeps it, since a
type named from a module is a dependency on its design (for cycles and layering).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from fakes import REPO

PACKAGE = REPO / "src" / "imgclf"


def modules() -> Iterator[tuple[Path, str]]:
    """(file, dotted module name) of every module of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def module_file(name: str) -> Path:
    parts = name.split(".")[1:]
    path = PACKAGE.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except what sits under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _importlib_targets(node: ast.AST, package: str | None) -> set[str]:
    """What an ``importlib.import_module(...)`` call imports: a literal module, or every module of the package
    an f-string names as ``f"{__package__}.{...}"``."""
    if not (isinstance(node, ast.Call) and ast.unparse(node.func) in ("importlib.import_module", "import_module")):
        return set()
    arg = node.args[0] if node.args else None
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return {arg.value} if arg.value.startswith("imgclf") else set()
    if isinstance(arg, ast.JoinedStr) and package and "__package__" in ast.unparse(arg):
        return {m for _, m in modules() if m.startswith(package + ".") and m.count(".") == package.count(".") + 1}
    return set()


def imports_of(path: Path, name: str | None, design: bool = False) -> set[str]:
    """imgclf modules a file imports at run time (``design``: and under TYPE_CHECKING), relative imports
    resolved, importlib followed; ``name`` None for a stage script."""
    package = None if name is None else (name if path.name == "__init__.py" else name.rsplit(".", 1)[0])
    found = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree) if design else _runtime_nodes(tree):
        found |= _importlib_targets(node, package)
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("imgclf"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("imgclf"):
                continue
            found.add(target)
            for alias in node.names:  # `from . import layers` imports a module
                if module_file(f"{target}.{alias.name}").exists():
                    found.add(f"{target}.{alias.name}")
    return found


def import_closure(script: Path, stop: set[str] = frozenset()) -> set[str]:
    """Every imgclf module a script imports, directly or through others (not looking inside ``stop``)."""
    todo, seen = list(imports_of(script, None)), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in stop:
            todo.extend(imports_of(module_file(name), name))
    return seen


def graph(design: bool = False) -> dict[str, set[str]]:
    """module -> the modules it imports at run time (``design``: TYPE_CHECKING imports too)."""
    return {name: {t for t in imports_of(path, name, design) if t != name} for path, name in modules()}


def a_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first = last), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target] if target in path else [node, target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start, [start])):
            return found
    return None
