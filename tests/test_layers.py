"""The package's shape: one package per stage, imports only downwards, and no cycles.

Every import in `evalkit/` counts, at module level or inside a function: a lazy import is
still a dependency. Run as a script (`python tests/test_layers.py`) to list every finding.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "evalkit"

STAGES = ["config", "transport", "store", "workload", "economics", "scoring", "suites", "run", "analysis",
          "report", "console"]
"""Lowest first: a module may import its own stage and the ones before it."""
FOUNDATION = {"evalkit.errors", "evalkit.lazy", "evalkit.redaction", "evalkit.version", "evalkit.data"}
"""Importable by every stage."""
TOP = {"evalkit", "evalkit.api", "evalkit.cli", "evalkit.__main__"}
"""The public API and the command line: they may import every stage."""
SUPPORT = "evalkit.testing"
"""Test support: may import anything; nothing in evalkit may import it."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The evalkit modules `name` imports (a `from P import m` of a submodule counts as m)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("evalkit"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            if not base.startswith("evalkit"):
                continue
            submodules = {f"{base}.{a.name}" for a in node.names} & known
            found.update(submodules)
            if len(submodules) < len(node.names):  # a name defined in `base` itself
                found.add(base)
    return {m for m in found if m in known and m != name}


def stage_of(name: str) -> int | None:
    """Index in STAGES, -1 for the foundation, None for the top and test support."""
    if name in TOP or name.startswith(SUPPORT):
        return None
    if any(name == f or name.startswith(f + ".") for f in FOUNDATION):
        return -1
    part = name.split(".")[1]
    if part not in STAGES:
        raise AssertionError(f"{name} belongs to no stage: add it to STAGES, FOUNDATION or TOP")
    return STAGES.index(part)


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, set(known)) for name, path in known.items()}


def upward_imports(deps: dict[str, set[str]]) -> list[str]:
    problems = []
    for name, targets in sorted(deps.items()):
        mine = stage_of(name)
        for target in sorted(targets):
            if target.startswith(SUPPORT) and not name.startswith(SUPPORT):
                problems.append(f"{name} imports test support {target}")
                continue
            theirs = stage_of(target)
            if mine is None or theirs == -1:
                continue
            if theirs is None or theirs > mine:
                problems.append(f"{name} ({_stage_text(mine)}) imports {target} ({_stage_text(theirs)})")
    return problems


def _stage_text(index: int | None) -> str:
    return "top" if index is None else "foundation" if index < 0 else STAGES[index]


def cycles(deps: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in deps.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(deps):
        if node not in index:
            visit(node)
    return found


def test_no_stage_imports_a_higher_one() -> None:
    problems = upward_imports(graph())
    assert not problems, "\n".join(problems)


def test_there_are_no_import_cycles() -> None:
    found = cycles(graph())
    assert not found, "\n".join(" <-> ".join(c) for c in found)


def test_every_package_says_what_it_owns() -> None:
    packages = {name: path for name, path in modules().items() if path.name == "__init__.py" and name != "evalkit.data"}
    missing = [name for name, path in packages.items() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert not missing, f"packages without a docstring: {missing}"


def test_the_checker_sees_an_upward_and_a_cyclic_import() -> None:
    """The rules above are only as good as this walk: it must catch both kinds of finding."""
    deps = {"evalkit.config.models": {"evalkit.run.runner"}, "evalkit.run.runner": {"evalkit.config.models"}}
    assert upward_imports(deps) == ["evalkit.config.models (config) imports evalkit.run.runner (run)"]
    assert cycles(deps) == [["evalkit.config.models", "evalkit.run.runner"]]


if __name__ == "__main__":
    deps = graph()
    for line in upward_imports(deps):
        print("upward:", line)
    for component in cycles(deps):
        print("cycle:", " <-> ".join(component))
